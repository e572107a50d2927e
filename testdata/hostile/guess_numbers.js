// Attack: guess references as numbers (process ids, c-list indexes, timer
// refs) and hand them to every host function that takes a capability.

// Each attempt is reported as "ok:<what it returned>" or "<error name>: <message>".
function describe(v) {
  if (v === undefined) return "undefined";
  if (typeof v === "object" && v !== null && String(v) === "[object Capability]") return "capability(" + v.rights + ")";
  if (v instanceof Uint8Array) return "Uint8Array(" + Array.from(v).join(",") + ")";
  if (typeof v === "function") return "function";
  return typeof v + ":" + JSON.stringify(v);
}
function attempt(f) {
  try { return "ok:" + describe(f()); } catch (e) { return e.name + ": " + e.message; }
}
async function attemptAsync(f) {
  try { return "ok:" + describe(await f()); } catch (e) { return e.name + ": " + e.message; }
}
// flat copies a third party's report into ours under prefix.
function flat(out, prefix, r) {
  for (const k of Object.keys(r)) out[prefix + "." + k] = r[k];
  return out;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
