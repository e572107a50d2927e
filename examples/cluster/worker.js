// A worker on node c, spawned by the front on node a for one job. It adds
// its square to the counter on node b through the capability the job
// lends it, then waits to be told to stop.
let counter = null;

export async function receive(msg, ctx) {
  switch (msg.type) {
    case "square": {
      counter = msg.counter;
      let added = false;
      try {
        await counter.call({ type: "add", by: msg.n * msg.n }, { timeout: 1000 });
        added = true;
      } catch {
        // node b is lost: the job is still done, the counter just misses it
      }
      return { square: msg.n * msg.n, added };
    }
    case "again": // after the front has revoked the loan
      try {
        await counter.call({ type: "add", by: 1 });
        return "added";
      } catch (e) {
        return e.name; // CapabilityError: node a revoked it, and checks every use
      }
    case "stop":
      ctx.stop();
      return "stopping";
  }
}
