// Attack: stop the victim. Handles have no stop; ctx.stop ends only the
// caller, whatever `this` is: the attacker stops itself with "hijack".

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  return {
    stop: attempt(() => v.stop("shutdown")),
    stopType: attempt(() => typeof v.stop),
    ctxStopOnVictim: attempt(() => ctx.stop.call(v, "hijack")),
  };
}
