// Attack: guess references as strings: names and paths from the manifest,
// tokens (32 hex digits), and what a handle prints as.

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
