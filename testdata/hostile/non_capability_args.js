// Bad input: values that are not capabilities where the host API expects
// one, and a string where setTimeout expects a function. Each must be a
// clear TypeError (never a crash or a silent success).

export function receive(msg, ctx) {
  return {
    sendAfterObject: attempt(() => ctx.sendAfter({}, { mark: "forbidden" }, 0)),
    sendAfterNull: attempt(() => ctx.sendAfter(null, { mark: "forbidden" }, 0)),
    sendAfterNothing: attempt(() => ctx.sendAfter()),
    revocableNumber: attempt(() => ctx.revocable(42)),
    revocableEnv: attempt(() => ctx.revocable(ctx.env)),
    revocableMethod: attempt(() => ctx.revocable(ctx.env.victim.send)),
    revocableNothing: attempt(() => ctx.revocable()),
    sendUndefinedThis: attempt(() => ctx.env.victim.send.call(undefined, { mark: "forbidden" })),
    callDetached: attempt(() => { const c = ctx.env.victim.call; return c({ type: "get" }); }),
    badTimeout: attempt(() => ctx.env.victim.call({ type: "get" }, { timeout: -1 })),
    nanTimeout: attempt(() => ctx.env.victim.call({ type: "get" }, { timeout: NaN })),
    cancelObject: attempt(() => ctx.cancelTimer({})),
    setTimeoutString: attempt(() => setTimeout("ctx.env.victim.kill()", 0)),
  };
}
