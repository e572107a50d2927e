// Attack: race the check against the copy: a getter in the message, which
// runs while the message is encoded after the sender's check passed,
// revokes the capability being used, or swaps the target.

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
  const v = ctx.env.victim;
  const r1 = ctx.revocable(v);
  const r2 = ctx.revocable(v);
  const r3 = ctx.revocable(v);
  const out = {
    send: attempt(() => r1.cap.send({ mark: "forbidden-toctou-send", get x() { r1.revoke(); return 1; } })),
    sendAfter: attempt(() => ctx.sendAfter(r2.cap, { mark: "forbidden-toctou-timer", get x() { r2.revoke(); return 1; } }, 10) > 0),
    call: attempt(() => r3.cap.call({ mark: "forbidden-toctou-call", get x() { r3.revoke(); return 1; } })),
  };
  const r4 = ctx.revocable(v);
  flat(out, "transferred", await ctx.env.accomplice.call({ type: "use", cap: r4.cap, msg: { mark: "forbidden-toctou-transfer" }, get x() { r4.revoke(); return 1; } }));
  await sleep(100); // the sendAfter fires meanwhile and must be dropped
  return out;
}
