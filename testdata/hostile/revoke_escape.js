// Attack: escape a coming revocation by laundering the capability before
// it: attenuate it, wrap it in the attacker's own revocables, send it
// through a third party and back, and keep every copy.

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
