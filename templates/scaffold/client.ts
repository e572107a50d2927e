// client asks counter to count once a second and logs the answer.
import type { Capability, Context } from "./cloister";
import type { CounterMsg } from "./counter";

type Env = { counter: Capability<CounterMsg, number> };

export function init(args: unknown, ctx: Context<Env>): void {
  ctx.sendAfter(ctx.self, { type: "tick" }, 1000);
}

export async function receive(msg: { type: "tick" }, ctx: Context<Env>): Promise<void> {
  if (ctx.isNotification(msg)) return;
  try {
    const n = await ctx.env.counter.call({ type: "inc" }, { timeout: 500 });
    console.info("count is", n);
  } catch (e) {
    console.warn("counter did not answer:", (e as Error).name);
  }
  ctx.sendAfter(ctx.self, { type: "tick" }, 1000);
}
