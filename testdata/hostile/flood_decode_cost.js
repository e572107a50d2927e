// Attack: one message within every limit (under 1 MiB, under the receiver
// heap estimate) that is as expensive as possible to decode: about 110000
// empty arrays. The attacker, given a generous CPU limit by its operator,
// builds and encodes it; the victim, with the default 50ms, must not be
// charged for decoding it.

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
  const list = [];
  for (let i = 0; i < 110000; i++) list.push([]);
  return { send: attempt(() => ctx.env.victim.send({ mark: "allowed-expensive", list })) };
}
