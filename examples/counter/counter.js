// A counter: its state lives as long as the incarnation.
let count = 0;

export function init(args, ctx) {
  count = args?.start ?? 0;
}

export function receive(msg, ctx) {
  switch (msg.type) {
    case "inc":
      count += msg.by ?? 1;
      return count;
    case "get":
      return count;
    case "boom":
      throw new Error("boom");
  }
}

export function terminate(reason, ctx) {
  console.log("counter stopping at", count, "because", reason);
}
