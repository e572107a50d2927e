// Spins on every start: crashes with cpu_limit and is restarted.
export function init(args, ctx) { ctx.self.send({}); }
export function receive(msg, ctx) { for (;;) {} }
