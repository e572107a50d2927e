// Bad input: values that are not capabilities where the host API expects
// one, and a string where setTimeout expects a function. Each must be a
// clear TypeError (never a crash or a silent success).

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
