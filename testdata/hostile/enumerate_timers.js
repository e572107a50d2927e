// Attack: cancel the victim's timers by enumerating timer references with
// ctx.cancelTimer and clearTimeout. Refs belong to the process that made
// them; the victim's own timers must still fire.

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
  let cancelled = 0;
  for (let ref = -5; ref <= 5000; ref++) {
    if (ctx.cancelTimer(ref)) cancelled++;
    clearTimeout(ref);
  }
  return {
    cancelled: attempt(() => cancelled),
    weird: attempt(() => [ctx.cancelTimer("1"), ctx.cancelTimer({ valueOf() { return 1; } }), ctx.cancelTimer(1.5)].join(",")),
  };
}
