// A worker with no inspect() export.
export function receive(msg) {
  if (msg.type === "boom") throw new Error("plain boom");
}
