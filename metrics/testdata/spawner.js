// Spawns n dynamic children of the pool and sends each a message.
export async function receive(msg, ctx) {
  if (msg.type !== "spawn") return;
  for (let i = 0; i < msg.n; i++) {
    const child = await ctx.env.pool.spawn({});
    child.send({ type: "hello" });
  }
}
