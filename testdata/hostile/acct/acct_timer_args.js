// Memory kept only as a timer's argument and by callbacks waiting on a
// promise the host settles later (a call to a sink that never answers):
// 8 MiB per turn each way.
let kept = 0;
export function receive(msg, ctx) {
  const big = new Uint8Array(8 << 20);
  big[1] = ++kept;
  if (msg.type === "arg") setTimeout((b) => b.length, 86400000, big);
  else ctx.env.sink.call({}, { timeout: 600000 }).then(() => big.length, () => big.length);
  return kept;
}
