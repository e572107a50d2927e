// Attack: call host methods in unusual ways (Reflect.apply, call/apply/bind
// from Function.prototype, as a constructor, with a getter receiver) to
// run a method of the all-rights ctx.self against the send-only handle.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  return {
    reflectGet: attempt(() => Reflect.get(ctx.self, "kill", v).call(v)),
    callCall: attempt(() => Function.prototype.call.call(ctx.self.kill, v)),
    applyApply: attempt(() => Function.prototype.apply.call(ctx.self.exit, v, ["kill"])),
    rebind: attempt(() => ctx.self.exit.bind(v).bind(ctx.self)("kill")),
    construct: attempt(() => new v.send({ mark: "forbidden" })),
    reflectConstruct: attempt(() => Reflect.construct(ctx.self.kill, [])),
    ownDescriptor: attempt(() => Object.getOwnPropertyDescriptor(v, "kill").value.call(v)),
    hasKill: attempt(() => Reflect.has(v, "kill")),
    getWithSelfReceiver: attempt(() => Reflect.get(v, "rights", ctx.self)),
  };
}
