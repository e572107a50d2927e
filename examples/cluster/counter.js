// A counter on node b. It does not know, or care, which node its callers
// run on: a message from the front on a and one from a worker on c look
// the same.
let value = 0;
let adds = 0;

export function receive(msg) {
  switch (msg.type) {
    case "inc":
      value += 1;
      return value;
    case "add": // from a worker on node c, through a revocable capability
      value += msg.by;
      adds += 1;
      return value;
    case "get":
      return value;
  }
}

export function inspect() {
  return { value, adds };
}
