// Attack: guess references as objects shaped like a capability: ids,
// targets with rights, paths, bytes, dates, and the host's own objects
// (ctx, ctx.env, a method) that are not handles.

function outcomes(values, f) {
  const seen = new Set();
  for (const x of values) seen.add(attempt(() => f(x)));
  return [...seen].join(" | ");
}
export function receive(msg, ctx) {
  const guesses = [{ id: 1 }, { target: 1, rights: ["send", "kill"] }, { path: "victim", rights: ["kill"] },
    { cap: {}, iso: {} }, { TargetID() { return 1; } }, Object.create(null), [], [1], new Uint8Array(16),
    new Date(0), ctx, ctx.env, ctx.self.send, ctx.stop, () => ctx.self, null, undefined, true, Symbol("victim")];
  return {
    sendAfter: outcomes(guesses, (o) => ctx.sendAfter(o, { mark: "forbidden" }, 0)),
    revocable: outcomes(guesses, (o) => ctx.revocable(o)),
    sendThis: outcomes(guesses, (o) => ctx.self.send.call(o, { mark: "forbidden" })),
    attenuateThis: outcomes(guesses, (o) => ctx.self.attenuate.call(o, ["kill"])),
  };
}
