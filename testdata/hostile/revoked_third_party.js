// Attack: hand a revocable capability to a third party before and after it
// is revoked, so that someone other than the revokee keeps using it.

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
  const { cap } = await ctx.env.relay.call({ type: "lend" });
  await a.call({ type: "hold", cap });
  await a.call({ type: "hold", cap: cap.attenuate(["send"]) });
  const out = {};
  await ctx.env.relay.call({ type: "revoke" });
  const held = await a.call({ type: "useHeld", msg: { mark: "forbidden-held" } });
  flat(out, "heldBefore", held[0]);
  flat(out, "heldAttenuated", held[1]);
  flat(out, "passedAfter", await a.call({ type: "use", cap, msg: { mark: "forbidden-after" } }));
  return out;
}
