// Attack: recursion in Go on the script's data: String() of a deeply
// nested array, a join that is toString, flat(Infinity), JSON.parse and
// JSON.stringify of deep values. Each is bounded by a nesting limit.

const deepArray = (n) => { let a = []; for (let i = 0; i < n; i++) a = [a]; return a; };
const bombs = {
  stringDeep: () => String(deepArray(5000)).length,
  joinIsToString: () => { const a = [1]; a.join = Array.prototype.toString; return String(a); },
  toLocaleDeep: () => deepArray(5000).toLocaleString().length,
  flatDeep: () => deepArray(5000).flat(Infinity).length,
  flatCycle: () => { const a = [1]; a.push(a); return a.flat(Infinity).length; },
  flatWide: () => { const a = []; for (let i = 0; i < 2000; i++) a.push([[i], [i, [i]]]); for (;;) a.flat(Infinity); },
  parseDeep: () => JSON.parse("[".repeat(1e6) + "]".repeat(1e6)).length,
  stringifyDeep: () => JSON.stringify(deepArray(2e5)).length,
  stringifyReplacer: () => { const o = {}; for (let i = 0; i < 3e5; i++) o["k" + i] = i; const keys = Object.keys(o); for (;;) JSON.stringify(o, keys); },
};

// What each bomb must end in: the turn's crash reason (cpu_limit,
// memory_limit, or error for an uncaught exception), or ok.
const expect = {
  "stringDeep": "error",
  "joinIsToString": "error",
  "toLocaleDeep": "error",
  "flatDeep": "error",
  "flatCycle": "error",
  "flatWide": "cpu_limit|memory_limit",
  "parseDeep": "error",
  "stringifyDeep": "cpu_limit|memory_limit|error",
  "stringifyReplacer": "cpu_limit"
};

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  const out = {};
  for (const k of ["stringDeep", "joinIsToString", "toLocaleDeep", "flatDeep", "parseDeep"]) out[k] = attempt(bombs[k]);
  out.small = attempt(() => String([[1, [2]], 3]) + "|" + [[1, [2]], 3].flat(Infinity).join() + "|" + JSON.stringify({ a: [1, { b: 2 }] }, ["a", "b"]));
  return out;
}
