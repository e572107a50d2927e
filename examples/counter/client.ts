// A client that calls the counter it was granted, a few times a second.
import type { Capability, Context } from "../cloister";

interface Reply { type: string; by?: number }
type Env = { counter: Capability<Reply, number> };

let rounds = 0;

export function init(args: { every?: number }, ctx: Context<Env>) {
  setTimeout(tick, 0, ctx, args?.every ?? 250);
}

function tick(ctx: Context<Env>, every: number) {
  ctx.self.send({ type: "tick", every });
}

export async function receive(msg: Reply & { every: number }, ctx: Context<Env>) {
  if (ctx.isNotification(msg) || msg.type !== "tick") return;
  rounds++;
  const value = await ctx.env.counter.call({ type: "inc", by: 2 });
  console.log(`round ${rounds}: counter is ${value}`);
  setTimeout(tick, msg.every, ctx, msg.every);
}
