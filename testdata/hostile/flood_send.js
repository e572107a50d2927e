// Attack: flood the victim, to which the attacker holds only send, with
// 20000 messages in bursts of 500 (each burst its own turn; sends refused
// by the victim's full mailbox are expected), then with 500 calls in flight
// at once. The node must survive and the victim must still
// answer, with its state intact.

export async function receive(msg, ctx) {
  const v = ctx.env.victim;
  let sent = 0;
  for (let burst = 0; burst < 40; burst++) {
    for (let i = 0; i < 500; i++) {
      // A full mailbox pushes back with MailboxFull; anything else is a failure.
      try { v.send({ junk: i, pad: "x".repeat(64) }); } catch (e) { if (e.name !== "MailboxFull") throw e; }
      sent++;
    }
    await sleep(0);
  }
  const calls = [];
  // A call refused by the full mailbox is tried again once there is room.
  const call = async () => {
    for (;;) {
      try { return await v.call({ type: "get" }, { timeout: 30000 }); }
      catch (e) { if (e.name !== "MailboxFull") throw e; await sleep(5); }
    }
  };
  for (let i = 0; i < 500; i++) calls.push(call());
  const answers = await Promise.all(calls);
  return {
    sent: attempt(() => sent),
    callsAnswered: attempt(() => answers.filter((n) => n === 1000).length),
  };
}
