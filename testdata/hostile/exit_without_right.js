// Attack: send exit signals, trappable or posing as "kill" or "normal",
// without the exit right.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  return {
    exit: attempt(() => v.exit("boom")),
    exitKill: attempt(() => v.exit("kill")),
    exitNormal: attempt(() => v.exit("normal")),
    exitObject: attempt(() => v.exit({ reason: "kill", toString() { return "kill"; } })),
    exitNoReason: attempt(() => v.exit()),
    borrowedFromSelf: attempt(() => ctx.self.exit.call(v, "kill")),
    viaMonitorOnly: attempt(() => ctx.env.watch.exit("boom")),
  };
}
