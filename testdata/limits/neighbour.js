// A well-behaved tenant: counts, answers, holds little.
let n = 0;
export function receive(msg, ctx) {
  n += 1;
  if (msg && msg.type === "get") return n;
  return { ok: true, n };
}
