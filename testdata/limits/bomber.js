// Grows its heap on every turn until its memory limit crashes it.
const keep = [];
export function init(args, ctx) { ctx.self.send({}); }
export function receive(msg, ctx) {
  for (let i = 0; i < 20000; i++) keep.push({ i, s: "x" + i });
  ctx.self.send({});
}
