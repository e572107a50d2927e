// Attack: swap prototypes: put the all-rights ctx.self under the send-only
// handle, and the send-only handle under a plain object, with
// setPrototypeOf, Reflect and __proto__.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  const fake = { rights: ["kill"] };
  return {
    setProtoOfHandle: attempt(() => Object.setPrototypeOf(v, ctx.self) === v),
    protoIsSelf: attempt(() => Object.getPrototypeOf(v) === ctx.self),
    killAfterSwap: attempt(() => v.kill()),
    rightsAfterSwap: attempt(() => v.rights),
    reflectSet: attempt(() => Reflect.setPrototypeOf(v, Object.create(ctx.self))),
    dunderAssign: attempt(() => { v.__proto__ = ctx.self; return Object.getPrototypeOf(v) === ctx.self; }),
    plainOverHandle: attempt(() => Object.setPrototypeOf(fake, ctx.self).kill()),
    plainOverHandleSendAfter: attempt(() => ctx.sendAfter(fake, { mark: "forbidden" }, 0)),
    dunderLiteral: attempt(() => ({ __proto__: ctx.self }).send({ mark: "forbidden" })),
    sendStillWorks: attempt(() => v.send({ mark: "allowed-after-swap" })),
  };
}
