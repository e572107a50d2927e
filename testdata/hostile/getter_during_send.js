// Attack: race the check against the copy: a getter in the message, which
// runs while the message is encoded after the sender's check passed,
// revokes the capability being used, or swaps the target.

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
