// Attack: Array.prototype.includes, indexOf and lastIndexOf over a length
// of 2^53 - 1, a huge sparse array, and a length getter that lies. Each is
// a Go loop in goja that never looks at the interrupt; Cloister's own
// versions check the CPU limit as they go.

let reads = 0;
const lying = { get length() { return reads++ === 0 ? 0 : 2 ** 53 - 1; } };
const sparse = () => { const a = []; a[2 ** 32 - 2] = 1; return a; };
const bombs = {
  includesHuge: () => Array.prototype.includes.call({ length: 2 ** 53 - 1 }, "x"),
  indexOfHuge: () => Array.prototype.indexOf.call({ length: 2 ** 53 - 1 }, "x"),
  lastIndexOfHuge: () => Array.prototype.lastIndexOf.call({ length: 2 ** 53 - 1 }, "x"),
  includesSparse: () => sparse().includes("x"),
  indexOfSparse: () => sparse().indexOf("x"),
  lastIndexOfSparse: () => sparse().lastIndexOf("x", -2),
  includesLying: () => { reads = 0; return Array.prototype.includes.call(lying, "x"); },
  indexOfProxy: () => Array.prototype.indexOf.call(new Proxy({ length: 2 ** 53 - 1 }, {}), "x"),
  joinHuge: () => Array.prototype.join.call({ length: 2 ** 53 - 1 }, "").length,
  // The other methods that walk a length: holes call nothing back.
  forEachHuge: () => Array.prototype.forEach.call({ length: 2 ** 53 - 1 }, () => {}),
  forEachSparse: () => sparse().forEach(() => {}),
  someLying: () => { reads = 0; return Array.prototype.some.call(lying, () => true); },
  reduceHuge: () => Array.prototype.reduce.call({ length: 2 ** 53 - 1, 0: 1 }, (a) => a),
  reverseHuge: () => Array.prototype.reverse.call({ length: 2 ** 53 - 1 }),
  lastIndexOfProxyHuge: () => Array.prototype.findLast.call(new Proxy({ length: 2 ** 53 - 1 }, {}), () => false),
  sliceSparse: () => sparse().slice(0).length,
};

// What each bomb must end in: the turn's crash reason (cpu_limit,
// memory_limit, or error for an uncaught exception), or ok.
const expect = {
  "includesHuge": "cpu_limit",
  "indexOfHuge": "cpu_limit",
  "lastIndexOfHuge": "cpu_limit",
  "includesSparse": "cpu_limit",
  "indexOfSparse": "cpu_limit",
  "lastIndexOfSparse": "cpu_limit",
  "includesLying": "ok",
  "indexOfProxy": "cpu_limit",
  "joinHuge": "cpu_limit",
  "forEachHuge": "cpu_limit",
  "forEachSparse": "cpu_limit",
  "someLying": "ok",
  "reduceHuge": "cpu_limit",
  "reverseHuge": "cpu_limit",
  "lastIndexOfProxyHuge": "cpu_limit",
  "sliceSparse": "cpu_limit|memory_limit"
};

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  return {
    small: attempt(() => [1, 2, NaN, 3].includes(NaN) + "," + [1, 2, 3].indexOf(3) + "," + [1, 2, 1].lastIndexOf(1)),
  };
}
