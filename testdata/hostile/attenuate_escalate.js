// Attack: escalate through attenuate: ask a send-only handle for more
// rights, re-widen an emptied one, and widen through a revocable forwarder
// or a third party.

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
