// Attack: hand a revocable capability to a third party before and after it
// is revoked, so that someone other than the revokee keeps using it.

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
