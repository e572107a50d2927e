// Memory kept only by timer callbacks: 8 MiB per turn, stashed in a
// setTimeout closure due in a day. The incarnation must end with
// memory_limit as soon as it holds its limit, not grow the node.
let kept = 0;
export function receive(msg) {
  if (msg.type === "kept") return kept;
  const big = new Uint8Array(8 << 20);
  big[1] = ++kept;
  setTimeout(() => big.length, 86400000);
  return kept;
}
