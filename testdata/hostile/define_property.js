// Attack: redefine a handle's properties with Object.defineProperty,
// defineProperties and Reflect.defineProperty, including accessors.

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

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  return {
    rights: attempt(() => Object.defineProperty(v, "rights", { value: ["send", "kill"] })),
    kill: attempt(() => Object.defineProperty(v, "kill", { value: ctx.self.kill })),
    getter: attempt(() => Object.defineProperty(v, "send", { get() { return ctx.self.send; } })),
    many: attempt(() => Object.defineProperties(v, { a: { value: 1 }, rights: { value: [] } })),
    reflect: attempt(() => Reflect.defineProperty(v, "rights", { value: ["kill"] })),
    onSelf: attempt(() => Object.defineProperty(ctx.self, "rights", { value: [] })),
    freeze: attempt(() => Object.freeze(v)),
    sealed: attempt(() => Object.isSealed(v)),
    rightsAfter: attempt(() => v.rights),
    killAfter: attempt(() => v.kill()),
    sendAfter: attempt(() => v.send({ mark: "allowed-after-defineProperty" })),
  };
}
