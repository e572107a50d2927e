// Attack: escalate through attenuate: ask a send-only handle for more
// rights, re-widen an emptied one, and widen through a revocable forwarder
// or a third party.

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
  const out = {
    addKill: attempt(() => v.attenuate(["send", "kill"])),
    onlyKill: attempt(() => v.attenuate(["kill"])),
    all: attempt(() => v.attenuate(["send", "monitor", "link", "exit", "kill", "inspect", "spawn"])),
    duplicates: attempt(() => v.attenuate(["send", "send", "send"])),
    rewiden: attempt(() => v.attenuate([]).attenuate(["send"])),
    viaForwarder: attempt(() => ctx.revocable(v).cap.attenuate(["exit"])),
    watchToSend: attempt(() => ctx.env.watch.attenuate(["send", "monitor"])),
    selfMethodOnVictim: attempt(() => ctx.self.attenuate.call(v, ["kill"])),
    subset: attempt(() => v.attenuate(["send"])),
  };
  flat(out, "thirdParty", await ctx.env.accomplice.call({ type: "use", cap: v.attenuate(["send"]), msg: { mark: "allowed-third-party" } }));
  return out;
}
