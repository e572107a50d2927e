// Attack: cancel the victim's timers by enumerating timer references with
// ctx.cancelTimer and clearTimeout. Refs belong to the process that made
// them; the victim's own timers must still fire.

export function receive(msg, ctx) {
  let cancelled = 0;
  for (let ref = -5; ref <= 5000; ref++) {
    if (ctx.cancelTimer(ref)) cancelled++;
    clearTimeout(ref);
  }
  return {
    cancelled: attempt(() => cancelled),
    weird: attempt(() => [ctx.cancelTimer("1"), ctx.cancelTimer({ valueOf() { return 1; } }), ctx.cancelTimer(1.5)].join(",")),
  };
}
