// Attack: deliver messages through a capability that carries only monitor.

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
  const w = ctx.env.watch;
  return {
    rights: attempt(() => w.rights),
    send: attempt(() => w.send({ mark: "forbidden-send" })),
    call: await attemptAsync(() => w.call({ mark: "forbidden-call" }, { timeout: 500 })),
    sendAfter: attempt(() => ctx.sendAfter(w, { mark: "forbidden-sendAfter" }, 0)),
    borrowedSend: attempt(() => ctx.env.victim.send.call(w, { mark: "forbidden-borrowed" })),
    attenuateToSend: attempt(() => w.attenuate(["send"])),
    revocableCopy: attempt(() => ctx.revocable(w).cap.send({ mark: "forbidden-revocable" })),
  };
}
