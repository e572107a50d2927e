// Attack: string builtins whose Go loops run in one piece: normalize,
// split(""), localeCompare, replaceAll on a 2e7-character string,
// spreading it, repeat, padEnd, concat, and doubling a string every way
// the language joins strings: +, +=, template literals, through an
// object's toString, a member, eval and Function, and the builtins.

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
  doublePlus: () => { let s = "x"; for (;;) s = s + s; },
  doubleUnicode: () => { let s = "\u00e9"; for (;;) s = s + s; },
  doubleTemplate: () => { let s = "x"; for (;;) s = `${s}${s}`; },
  doubleTemplateText: () => { let s = "x"; for (;;) s = `<${s}|${s}>`; },
  doubleObject: () => { let s = "x"; const o = { toString: () => s }; for (;;) s = o + s; },
  doubleMember: () => { const o = { s: "x" }; for (;;) o.s += o.s; },
  doubleIndex: () => { const a = ["x"]; let i = 0; for (;;) a[i] += a[i]; },
  doubleEval: () => { globalThis.s = "x"; for (;;) eval("s += s"); },
  doubleFunction: () => { const f = Function("s", "return s + s"); let s = "x"; for (;;) s = f(s); },
  doubleConcat: () => { let s = "x"; for (;;) s = s.concat(s); },
  doubleJoin: () => { let s = "x"; for (;;) s = [s, s].join(""); },
  doubleRepeat: () => { let s = "x"; for (;;) s = s.repeat(2); },
  doublePad: () => { let s = "x"; for (;;) s = s.padEnd(s.length * 2, s); },
  doubleJoinUnicode: () => { let s = "\u00e9"; for (;;) s = [s, s].join(""); },
  doubleRepeatUnicode: () => { let s = "\u00e9"; for (;;) s = s.repeat(2); },
  doubleCaught: () => { let s = "x"; for (;;) { try { s += s; } catch (e) { /* refused: again */ } } },
  keepSums: () => { const a = []; const s = "x".repeat(1 << 20); for (;;) a.push(s + a.length); },
  appendChars: () => { let s = ""; for (;;) s += "0123456789abcdef"; },
  rawEndless: () => String.raw({ raw: { length: 2 ** 53 - 1 } }).length,
  rawViaConstructor: () => "".constructor.raw({ raw: { length: 2 ** 53 - 1 } }, "x").length,
  rawDouble: () => { let s = "x"; for (;;) s = String.raw({ raw: [s, s] }); },
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
  "doubleJoinUnicode": "memory_limit|cpu_limit",
  "doubleRepeatUnicode": "memory_limit|cpu_limit",
  "repeat": "memory_limit",
  "padEnd": "memory_limit",
  "concat": "memory_limit|cpu_limit",
  "double": "memory_limit|cpu_limit",
  "doublePlus": "memory_limit|cpu_limit",
  "doubleUnicode": "memory_limit|cpu_limit",
  "doubleTemplate": "memory_limit|cpu_limit",
  "doubleTemplateText": "memory_limit|cpu_limit",
  "doubleObject": "memory_limit|cpu_limit",
  "doubleMember": "memory_limit|cpu_limit",
  "doubleIndex": "memory_limit|cpu_limit",
  "doubleEval": "memory_limit|cpu_limit",
  "doubleFunction": "memory_limit|cpu_limit",
  "doubleConcat": "memory_limit|cpu_limit",
  "doubleJoin": "memory_limit|cpu_limit",
  "doubleRepeat": "memory_limit|cpu_limit",
  "doublePad": "memory_limit|cpu_limit",
  "doubleCaught": "memory_limit|cpu_limit",
  "keepSums": "memory_limit|cpu_limit",
  "appendChars": "cpu_limit|memory_limit",
  "rawEndless": "cpu_limit|memory_limit",
  "rawViaConstructor": "cpu_limit|memory_limit",
  "rawDouble": "memory_limit|cpu_limit",
  "upper": "cpu_limit|memory_limit"
};

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  const out = {};
  out.small = attempt(() => "a\u0301b".normalize("NFC").length + "," + "abc".split("").join("-") + "," + "aXbX".replaceAll("X", "--"));
  const o = { valueOf: () => 2, toString: () => "o" };
  let t = "a";
  t += 1;
  out.raw = attempt(() => String.raw`a\n${1}b` + "|" + String.raw({ raw: ["x", "y", "z"] }, 1, 2, 3) + "|" + String.raw({ raw: { length: 0 } }));
  out.sums = attempt(() => [1 + 2, 0.5 + 1, "a" + 1, 1 + "a", o + 1, `${o}`, `x${1}y${o}z`, t, null + 1, undefined + 1, true + true].join());
  return out;
}
