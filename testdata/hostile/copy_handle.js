// Attack: copy a handle by spreading, Object.assign, Object.create, copying
// its methods, a structuredClone, or a round trip through a third party,
// hoping for a copy with more rights or a different target.

export async function receive(msg, ctx) {
  const v = ctx.env.victim;
  const methods = { send: v.send, kill: ctx.self.kill, attenuate: ctx.self.attenuate };
  const echoed = await ctx.env.accomplice.call({ type: "echo", v, list: [[{ v }]] });
  return {
    spread: attempt(() => ({ ...v })),
    assign: attempt(() => Object.assign({}, v)),
    assignOntoSelf: attempt(() => Object.assign(ctx.self, { rights: [] })),
    fromEntries: attempt(() => Object.fromEntries(Object.entries(v))),
    createKill: attempt(() => Object.create(v).kill()),
    createSendAfter: attempt(() => ctx.sendAfter(Object.create(ctx.self), { mark: "forbidden" }, 0)),
    copiedMethodsKill: attempt(() => methods.kill()),
    copiedMethodsSend: attempt(() => methods.send({ mark: "forbidden" })),
    copiedAttenuate: attempt(() => methods.attenuate(["kill"])),
    structuredClone: attempt(() => structuredClone(ctx.self)),
    roundTrip: attempt(() => echoed.v),
    roundTripNested: attempt(() => echoed.list[0][0].v),
    roundTripKill: attempt(() => echoed.v.kill()),
    roundTripAttenuate: attempt(() => echoed.v.attenuate(["send", "kill"])),
  };
}
