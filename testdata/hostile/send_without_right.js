// Attack: deliver messages through a capability that carries only monitor.

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
