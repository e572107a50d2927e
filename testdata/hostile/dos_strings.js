// Attack: string builtins whose Go loops run in one piece: normalize,
// split(""), localeCompare, replaceAll on a 2e7-character string,
// spreading it, repeat, padEnd, concat and doubling.

const big = () => "a\u0301".repeat(1e7);
const bombs = {
  normalize: () => big().normalize("NFC").length,
  split: () => big().split("").length,
  localeCompare: () => { const s = big(); return s.localeCompare(s + "b"); },
  replaceAll: () => big().replaceAll("a", "bb").length,
  replaceAllExpand: () => "x".repeat(2e7).replaceAll("x", "yyyyyyyy").length,
  spread: () => [...big()].length,
  spreadSparse: () => { const a = []; a[2 ** 32 - 2] = 1; return [...a].length; },
  spreadCall: () => Math.max(...big()),
  repeat: () => "ab".repeat(2 ** 28).length,
  padEnd: () => "".padEnd(2 ** 30, "xy").length,
  concat: () => { const s = "x".repeat(2 ** 24); return s.concat(s, s, s, s).length; },
  double: () => { let s = "x"; for (;;) s += s; },
  upper: () => big().toUpperCase().length,
};

// What each bomb must end in: the turn's crash reason (cpu_limit,
// memory_limit, or error for an uncaught exception), or ok.
const expect = {
  "normalize": "cpu_limit|memory_limit",
  "split": "cpu_limit|memory_limit",
  "localeCompare": "cpu_limit|memory_limit",
  "replaceAll": "cpu_limit|memory_limit",
  "replaceAllExpand": "cpu_limit|memory_limit",
  "spread": "cpu_limit|memory_limit",
  "spreadSparse": "cpu_limit|memory_limit",
  "spreadCall": "cpu_limit|memory_limit|error",
  "repeat": "memory_limit",
  "padEnd": "memory_limit",
  "concat": "memory_limit",
  "double": "cpu_limit|memory_limit",
  "upper": "cpu_limit|memory_limit"
};

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  const out = {};
  out.small = attempt(() => "a\u0301b".normalize("NFC").length + "," + "abc".split("").join("-") + "," + "aXbX".replaceAll("X", "--"));
  return out;
}
