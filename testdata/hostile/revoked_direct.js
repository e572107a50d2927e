// Attack: keep using a capability after its grantor revoked it: the relay
// lends a revocable send capability, the attacker uses it once, makes
// copies of it, and the relay revokes.

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
  const { cap } = await ctx.env.relay.call({ type: "lend" });
  const out = { before: attempt(() => cap.send({ mark: "allowed-before-revoke" })) };
  const attenuated = cap.attenuate(["send"]);
  const nested = ctx.revocable(cap).cap;
  out.revoked = await attemptAsync(() => ctx.env.relay.call({ type: "revoke" }));
  out.send = attempt(() => cap.send({ mark: "forbidden-send" }));
  out.call = attempt(() => cap.call({ type: "get" }));
  out.sendAfter = attempt(() => ctx.sendAfter(cap, { mark: "forbidden-sendAfter" }, 0));
  out.attenuate = attempt(() => cap.attenuate([]));
  out.revocable = attempt(() => ctx.revocable(cap));
  out.attenuatedCopy = attempt(() => attenuated.send({ mark: "forbidden-attenuated" }));
  out.nestedForwarder = attempt(() => nested.send({ mark: "forbidden-nested" }));
  out.rights = attempt(() => cap.rights);
  return out;
}
