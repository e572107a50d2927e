// Attack: get a revocable capability into a third party's mailbox before
// the revocation and used after it; and schedule a sendAfter through it
// that fires after the revocation.

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

export async function receive(msg, ctx) {
  const a = ctx.env.accomplice;
  const { cap } = await ctx.env.relay.call({ type: "lend" });
  a.send({ type: "sleep", ms: 300 });                   // the accomplice is busy ...
  const queued = a.call({ type: "use", cap, msg: { mark: "forbidden-queued" } }, { timeout: 5000 }); // ... so this waits in its mailbox
  const timer = attempt(() => ctx.sendAfter(cap, { mark: "forbidden-timer" }, 30) > 0);
  await ctx.env.relay.call({ type: "revoke" });
  const out = { timerScheduled: timer };
  flat(out, "queued", await queued);
  await sleep(150);                                      // the timer fires (and is dropped) meanwhile
  out.cancelAfter = attempt(() => ctx.cancelTimer(1));
  return out;
}
