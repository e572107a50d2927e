// The relay holds a capability to the victim with the send right and lends
// revocable copies of it; "revoke" ends every copy it has lent.

const revokers = [];

export function receive(msg, ctx) {
  switch (msg.type) {
    case "lend": {
      const { cap, revoke } = ctx.revocable(ctx.env.victim);
      revokers.push(revoke);
      return { cap };
    }
    case "revoke":
      for (const r of revokers) r();
      return revokers.length;
  }
  return null;
}
