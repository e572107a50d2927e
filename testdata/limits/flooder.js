// Sends to its target as fast as it can, every turn, for ever.
export function init(args, ctx) { ctx.self.send({ go: true }); }
export function receive(msg, ctx) {
  const t = ctx.env.target;
  for (let i = 0; i < 1000; i++) { try { t.send({ i, pad: "x".repeat(100) }); } catch (e) {} }
  ctx.self.send({ go: true });
}
