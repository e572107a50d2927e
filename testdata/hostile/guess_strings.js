// Attack: guess references as strings: names and paths from the manifest,
// tokens (32 hex digits), and what a handle prints as.

function outcomes(values, f) {
  const seen = new Set();
  for (const x of values) seen.add(attempt(() => f(x)));
  return [...seen].join(" | ");
}
export function receive(msg, ctx) {
  const guesses = ["victim", "/victim", "root/victim", "cloister/victim", "cloister/root/victim", "1", "2", "3",
    "00000000000000000000000000000000", "ffffffffffffffffffffffffffffffff", "0123456789abcdef0123456789abcdef",
    "[object Capability]", "capability(send)", "send,monitor,link,exit,kill,inspect,spawn", String(ctx.self),
    JSON.stringify(ctx.self), "nonhost$1", "$victim"];
  return {
    sendAfter: outcomes(guesses, (s) => ctx.sendAfter(s, { mark: "forbidden" }, 0)),
    revocable: outcomes(guesses, (s) => ctx.revocable(s)),
    sendThis: outcomes(guesses, (s) => ctx.self.send.call(s, { mark: "forbidden" })),
    killThis: outcomes(guesses, (s) => ctx.self.kill.call(s)),
    envLookup: outcomes(guesses, (s) => ctx.env[s]?.rights),
  };
}
