// counter keeps a number and answers calls about it.
import type { Context, Receive } from "./cloister";

/** The messages counter understands. */
export type CounterMsg = { type: "inc"; by?: number } | { type: "get" };

let count = 0; // module state lives as long as this incarnation

export function init(args: { start?: number }, ctx: Context): void {
  count = args?.start ?? 0;
}

export const receive: Receive<CounterMsg> = (msg, ctx) => {
  if (ctx.isNotification(msg)) return; // down and exit notifications: none expected here
  switch (msg.type) {
    case "inc":
      count += msg.by ?? 1;
      return count;
    case "get":
      return count; // the answer to a call()
  }
};

export function terminate(reason: string, ctx: Context): void {
  console.info("counter stopping:", reason, "at", count);
}

export function inspect(ctx: Context) {
  return { count }; // what the debug endpoint shows as its state
}
