// Attack: link to the victim (so that a crash of the attacker would take the
// victim down) and unlink, without the link right.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  return {
    link: attempt(() => v.link()),
    unlink: attempt(() => v.unlink()),
    borrowedFromSelf: attempt(() => ctx.self.link.call(v)),
    viaMonitorOnly: attempt(() => ctx.env.watch.link()),
    viaRevocableCopy: attempt(() => ctx.revocable(v).cap.link()),
  };
}
