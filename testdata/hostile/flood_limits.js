// Attack: exhaust shared resources through the send right: a message over
// the message size limit, one nested past the depth limit, a cyclic one,
// and more timers than the timer limit allows. Each is refused in the
// attacker; nothing reaches the victim.

export async function receive(msg, ctx) {
  const v = ctx.env.victim;
  let deep = { mark: "forbidden-deep" };
  for (let i = 0; i < 100; i++) deep = { d: deep };
  const cyclic = { mark: "forbidden-cyclic" };
  cyclic.self = cyclic;
  let timers = 0;
  const tooMany = attempt(() => { for (;;) { ctx.sendAfter(v, { mark: "timer" }, 3600000); timers++; } });
  const out = {
    big: attempt(() => v.send({ mark: "forbidden-big", s: "x".repeat(2 << 20) })),
    bigCall: attempt(() => v.call({ mark: "forbidden-big-call", b: new Uint8Array(2 << 20) })),
    deep: attempt(() => v.send(deep)),
    cyclic: attempt(() => v.send(cyclic)),
    tooManyTimers: tooMany,
    timersScheduled: attempt(() => timers),
  };
  for (let ref = 1; ref <= 2000; ref++) ctx.cancelTimer(ref);
  return out;
}
