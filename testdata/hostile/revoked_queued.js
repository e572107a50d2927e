// Attack: get a revocable capability into a third party's mailbox before
// the revocation and used after it; and schedule a sendAfter through it
// that fires after the revocation.

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
