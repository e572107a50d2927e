// Attack: keep using a capability after its grantor revoked it: the relay
// lends a revocable send capability, the attacker uses it once, makes
// copies of it, and the relay revokes.

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
