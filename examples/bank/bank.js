// An account of the bank example (docs/storage.md). Accounts move money
// between them with messages; storage makes every step durable:
//
//   the payer's turn debits itself and records the transfer as pending
//     (one commit), and sends the credit, released only after that commit;
//   the payee's turn credits itself and records the transfer id as
//     applied (one commit; a repeated credit is only acknowledged again);
//   the ack deletes the pending transfer. A restarted payer sends its
//     pending transfers again.
//
// So at every moment: sum of balances + sum of pending transfers the payee
// has not applied = the money the bank started with.

const START = 1000;
let me, peers; // this account's name and the others', from the manifest

export function init(args, ctx) {
  me = args.name;
  peers = args.peers;
  if (ctx.storage.get("balance") === undefined) {
    ctx.storage.put({ balance: START, seq: 0 });
  }
  // Resend what a previous incarnation or node may not have delivered.
  resendPending(ctx);
  ctx.sendAfter(ctx.self, { type: "tick" }, 1);
}

function resendPending(ctx) {
  for (const [, t] of ctx.storage.list({ prefix: "out/", limit: 20 })) {
    ctx.env[t.to].send({ type: "credit", id: t.id, from: me, amount: t.amount });
  }
}

export function receive(msg, ctx) {
  const s = ctx.storage;
  switch (msg.type) {
    case "tick": {
      if (Math.random() < 0.02) resendPending(ctx); // a peer that was not up yet
      const to = peers[Math.floor(Math.random() * peers.length)];
      const balance = s.get("balance");
      const amount = Math.min(balance, 1 + Math.floor(Math.random() * 50));
      if (amount > 0) {
        s.transaction(() => {
          const seq = s.get("seq") + 1;
          const id = me + "-" + seq;
          s.put({ balance: balance - amount, seq, ["out/" + id]: { id, to, amount } });
          ctx.env[to].send({ type: "credit", id, from: me, amount });
        });
      }
      ctx.sendAfter(ctx.self, { type: "tick" }, 1);
      return;
    }
    case "credit": {
      if (s.get("in/" + msg.id) === undefined) {
        s.transaction(() => {
          s.put("balance", s.get("balance") + msg.amount);
          s.put("in/" + msg.id, true);
        });
      }
      ctx.env[msg.from].send({ type: "ack", id: msg.id });
      return;
    }
    case "ack":
      s.delete("out/" + msg.id);
      return;
    case "balance":
      return s.get("balance");
  }
}
