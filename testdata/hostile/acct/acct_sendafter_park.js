// 1000 messages of 1 MiB parked in sendAfter, due in a day: the host holds
// them for this process, so they count against its memory limit.
const chunk = "x".repeat((1 << 20) - 64);
let parked = 0;
export function receive(msg, ctx) {
  if (msg.type === "parked") return parked;
  for (let k = 0; k < msg.n; k++) {
    ctx.sendAfter(ctx.self, { chunk, k }, 86400000);
    parked++;
  }
  return parked;
}
