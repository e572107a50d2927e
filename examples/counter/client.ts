// A client that calls the counter it was granted, a few times a second.
interface Reply { type: string; by?: number }

let rounds = 0;

export function init(args: { every?: number }, ctx: any) {
  setTimeout(tick, 0, ctx, args?.every ?? 250);
}

async function tick(ctx: any, every: number) {
  ctx.self.send({ type: "tick", every } as Reply);
}

export async function receive(msg: Reply & { every: number }, ctx: any) {
  if (msg.type !== "tick") return;
  rounds++;
  const value: number = await ctx.env.counter.call({ type: "inc", by: 2 });
  console.log(`round ${rounds}: counter is ${value}`);
  setTimeout(tick, msg.every, ctx, msg.every);
}
