// Attack: guess references as numbers (process ids, c-list indexes, timer
// refs) and hand them to every host function that takes a capability.

function outcomes(values, f) {
  const seen = new Set();
  for (const x of values) seen.add(attempt(() => f(x)));
  return [...seen].join(" | ");
}
export function receive(msg, ctx) {
  const guesses = [-1, 0, 0.5, NaN, Infinity, 2 ** 32, 2 ** 53, 2 ** 64];
  for (let n = 1; n <= 2000; n++) guesses.push(n);
  return {
    sendAfter: outcomes(guesses, (n) => ctx.sendAfter(n, { mark: "forbidden" }, 0)),
    revocable: outcomes(guesses, (n) => ctx.revocable(n)),
    sendThis: outcomes(guesses, (n) => ctx.self.send.call(n, { mark: "forbidden" })),
    killThis: outcomes(guesses, (n) => ctx.self.kill.call(n)),
    boxed: outcomes([new Number(1), Object(2)], (n) => ctx.sendAfter(n, { mark: "forbidden" }, 0)),
    bigint: outcomes([1n, 2n], (n) => ctx.sendAfter(n, { mark: "forbidden" }, 0)),
  };
}
