// Attack: use eval and the Function constructors to reach the module's
// scope, ctx, the host or another isolate: eval is always indirect, and
// only this isolate's globals are in reach.

// Each attempt is reported as "ok:<what it returned>" or "<error name>: <message>".
function describe(v) {
  if (v === undefined) return "undefined";
  if (typeof v === "object" && v !== null && String(v) === "[object Capability]") return "capability(" + v.rights + ")";
  if (v instanceof Uint8Array) return "Uint8Array(" + Array.from(v).join(",") + ")";
  if (typeof v === "function") return "function";
  return typeof v + ":" + JSON.stringify(v);
}
function attempt(f) {
  try { return "ok:" + describe(f()); } catch (e) { return e.name + ": " + e.message; }
}
async function attemptAsync(f) {
  try { return "ok:" + describe(await f()); } catch (e) { return e.name + ": " + e.message; }
}
// flat copies a third party's report into ours under prefix.
function flat(out, prefix, r) {
  for (const k of Object.keys(r)) out[prefix + "." + k] = r[k];
  return out;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const secretLocal = "module-scope";
export function receive(msg, ctx) {
  return {
    evalCtx: attempt(() => eval("typeof ctx")),
    evalLocal: attempt(() => eval("typeof secretLocal")),
    functionCtx: attempt(() => new Function("return typeof ctx")()),
    asyncFunction: attempt(() => typeof Object.getPrototypeOf(async function () {}).constructor("return 1")),
    generatorFunction: attempt(() => typeof Object.getPrototypeOf(function* () {}).constructor("yield 1")),
    globalThisKeys: attempt(() => ["ctx", "self", "env", "send", "require", "process"].filter((k) => k in globalThis).join(",")),
    bigSource: attempt(() => eval("1;".repeat(40000))),
  };
}
