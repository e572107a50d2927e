// Attack: kill the victim while holding only send (and, separately, only
// monitor), directly and by borrowing kill from the attacker's own
// all-rights ctx.self.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  return {
    kill: attempt(() => v.kill()),
    killWithReason: attempt(() => v.kill("because")),
    borrowedFromSelf: attempt(() => ctx.self.kill.call(v)),
    reflectApply: attempt(() => Reflect.apply(ctx.self.kill, v, [])),
    bound: attempt(() => ctx.self.kill.bind(v)()),
    viaMonitorOnly: attempt(() => ctx.env.watch.kill()),
    viaEmptyAttenuation: attempt(() => v.attenuate([]).kill()),
  };
}
