// monitor() and link() on a process that has ended each queue a noproc
// notification for the caller. In a loop, without end: the host must
// bound what it queues and say so.
let downs = 0;
let exits = 0;
export function init(args, ctx) { ctx.trapExits(true); }
export function receive(msg, ctx) {
  if (msg.type === "down") { downs++; return; }
  if (msg.type === "exit") { exits++; return; }
  if (msg.type === "count") return { downs, exits };
  let n = 0;
  try {
    for (;;) {
      if (msg.type === "monitor") ctx.env.gone.monitor();
      else ctx.env.gone.link();
      n++;
    }
  } catch (e) {
    return { n, error: e.name + ": " + e.message };
  }
}
