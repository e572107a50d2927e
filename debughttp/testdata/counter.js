// A counter that shows its state through inspect().
let count = 0;
let seen = [];

export function init(args) {
  count = args?.start ?? 0;
}

export function receive(msg) {
  seen.push(msg.type);
  if (seen.length > 5) seen.shift();
  switch (msg.type) {
    case "inc":
      count += msg.by ?? 1;
      return count;
    case "boom":
      throw new Error("boom at " + count);
  }
  return count;
}

export function inspect(ctx) {
  return { count, seen, self: ctx.self, when: new Date(0), nothing: undefined };
}

export function terminate(reason) {
  console.log("counter terminating: " + reason);
}
