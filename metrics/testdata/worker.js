// Forwards "fwd" messages to its peer, crashes on "boom", spins on "spin".
export function receive(msg, ctx) {
  switch (msg.type) {
    case "fwd":
      ctx.env.peer.send({ type: "hello" });
      return;
    case "boom":
      throw new Error("boom");
    case "spin":
      for (;;) {}
    case "stop":
      ctx.stop("custom-" + msg.n);
      return;
  }
}
