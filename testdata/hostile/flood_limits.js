// Attack: exhaust shared resources through the send right: a message over
// the message size limit, one nested past the depth limit, a cyclic one,
// and more timers than the timer limit allows. Each is refused in the
// attacker; nothing reaches the victim.

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
  let deep = { mark: "forbidden-deep" };
  for (let i = 0; i < 100; i++) deep = { d: deep };
  const cyclic = { mark: "forbidden-cyclic" };
  cyclic.self = cyclic;
  let timers = 0;
  const tooMany = attempt(() => { for (;;) { ctx.sendAfter(v, { mark: "timer" }, 3600000); timers++; } });
  const out = {
    big: attempt(() => v.send({ mark: "forbidden-big", s: "x".repeat(2 << 20) })),
    bigCall: attempt(() => v.call({ mark: "forbidden-big-call", b: new Uint8Array(2 << 20) })),
    deep: attempt(() => v.send(deep)),
    cyclic: attempt(() => v.send(cyclic)),
    tooManyTimers: tooMany,
    timersScheduled: attempt(() => timers),
  };
  for (let ref = 1; ref <= 2000; ref++) ctx.cancelTimer(ref);
  return out;
}
