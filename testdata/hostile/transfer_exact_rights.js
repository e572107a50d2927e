// Attack: pass capabilities on to a third party hoping they arrive with
// more rights than sent: the send-only grant, an emptied attenuation, and
// the monitor-only grant, in one message at different depths.

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

export async function receive(msg, ctx) {
  const a = ctx.env.accomplice;
  const out = {};
  flat(out, "sendOnly", await a.call({ type: "use", cap: ctx.env.victim, msg: { mark: "allowed-transferred" } }));
  flat(out, "empty", await a.call({ type: "use", cap: ctx.env.victim.attenuate([]), msg: { mark: "forbidden-empty" } }));
  flat(out, "monitorOnly", await a.call({ type: "use", cap: [[ctx.env.watch]][0][0], msg: { mark: "forbidden-watch" } }));
  return out;
}
