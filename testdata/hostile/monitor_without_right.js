// Attack: monitor the victim (learning when it ends) and demonitor guessed
// references, without the monitor right.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  return {
    monitor: attempt(() => v.monitor()),
    demonitorNumber: attempt(() => v.demonitor(1)),
    demonitorString: attempt(() => v.demonitor("1")),
    demonitorNothing: attempt(() => v.demonitor()),
    borrowedFromSelf: attempt(() => ctx.self.monitor.call(v)),
    attenuateToMonitor: attempt(() => v.attenuate(["monitor"])),
  };
}
