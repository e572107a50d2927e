// Attack: escape a coming revocation by laundering the capability before
// it: attenuate it, wrap it in the attacker's own revocables, send it
// through a third party and back, and keep every copy.

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
  const copies = {
    attenuated: cap.attenuate(["send"]),
    ownForwarder: ctx.revocable(cap).cap,
    doubleForwarder: ctx.revocable(ctx.revocable(cap.attenuate(["send"])).cap).cap,
    thirdPartyEcho: (await ctx.env.accomplice.call({ type: "echo", c: cap })).c,
    deepEcho: (await ctx.env.accomplice.call({ type: "echo", d: [{ e: [cap] }] })).d[0].e[0],
  };
  await ctx.env.relay.call({ type: "revoke" });
  const out = {};
  for (const [k, c] of Object.entries(copies)) out[k] = attempt(() => c.send({ mark: "forbidden-" + k }));
  return out;
}
