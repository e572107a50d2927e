// The victim of every hostile case: a counter with state that records the
// marks of the messages it receives and can report whether its own
// built-ins are still the ones it started with. The attacker holds a
// capability to it with only the send right (and one with only monitor).

let count = 0;
let junk = 0;
let ticks = 0;
const marks = [];

// References to built-ins taken when the module body runs, before any
// message: a probe compares them with what the globals hold now.
const originals = [
  [Object, "keys"], [Object, "assign"], [Object, "getPrototypeOf"], [JSON, "stringify"], [JSON, "parse"],
  [Array, "isArray"], [Object.prototype, "toString"], [Object.prototype, "hasOwnProperty"],
  [Array.prototype, "push"], [Array.prototype, "map"], [Array.prototype, "join"], [Function.prototype, "call"],
  [Function.prototype, "apply"], [String.prototype, "slice"], [Promise.prototype, "then"], [globalThis, "Date"],
  [globalThis, "Uint8Array"], [globalThis, "Object"], [globalThis, "JSON"], [globalThis, "Promise"],
].map(([o, k]) => [o, k, o[k]]);
// What the prototypes hold and what for-in sees on fresh objects; a change
// since the module body ran is pollution.
const shape = () => [Object.prototype, Array.prototype, Function.prototype, String.prototype]
  .map((p) => Object.getOwnPropertyNames(p).length).join(",") + " " + forIn({}) + " " + forIn([]) + " " + forIn(function () {});
function forIn(o) {
  const keys = [];
  for (const k in o) keys.push(k);
  return keys.join(",");
}
const startShape = shape();

function pollution() {
  const found = [];
  for (const [o, k, v] of originals) if (o[k] !== v) found.push(k);
  if (shape() !== startShape) found.push("prototypes changed: " + shape() + " != " + startShape);
  if ({}.polluted !== undefined || [].polluted !== undefined || {}.type !== undefined) found.push("polluted");
  if (JSON.stringify({ a: [1, "x"] }) !== '{"a":[1,"x"]}') found.push("JSON.stringify behaves differently");
  if (String([1, 2]) !== "1,2") found.push("Array.prototype.toString behaves differently");
  return found;
}

export function init(args, ctx) {
  count = args?.start ?? 0;
  setTimeout(() => { ticks++; }, 200);
  ctx.sendAfter(ctx.self, { type: "tick" }, 200);
}

export function receive(msg, ctx) {
  if (msg === null || typeof msg !== "object") { junk++; return; }
  switch (msg.type) {
    case "inc": count += msg.by ?? 1; return count;
    case "get": return count;
    case "tick": ticks++; return;
    case "probe": return { count, junk, ticks, marks, pollution: pollution() };
  }
  if (Object.prototype.hasOwnProperty.call(msg, "mark")) marks.push(String(msg.mark));
  junk++;
}
