// Attack: BigInt arithmetic, which goja computes in one VM instruction
// with Go's math/big: a power, repeated squaring, shifts by a huge
// amount (1n << 2n**40n asks Go for 128 GiB), in expressions, compound
// assignments and code made at run time; BigInt.asUintN of 2^53-1 bits and
// the parse of a million-digit string.

const big = () => 3n ** 100000n;
const bombs = {
  pow: () => (3n ** 3000000n).toString().length,
  powHuge: () => String(3n ** 30000000n).length,
  square: () => { let x = big(); for (;;) x = x * x; },
  squareAssign: () => { let x = big(); for (;;) x *= x; },
  shift: () => (1n << (2n ** 40n)) > 0n,
  shiftRightNegative: () => (1n >> -(2n ** 40n)) > 0n,
  shiftMember: () => { const o = { x: 1n }; o.x <<= 2n ** 40n; return o.x > 0n; },
  shiftIndex: () => { const a = [1n]; let i = 0; a[i++] <<= 2n ** 40n; return a[0] > 0n; },
  powCoerced: () => ({ valueOf: () => 3n }) ** ({ valueOf: () => 3000000n }),
  powCaught: () => { for (;;) { try { 3n ** 3000000n; } catch (e) { /* refused; try again */ } } },
  divideLoop: () => { const x = (1n << 262000n) - 1n; for (;;) x / 12345678901234567890123n; },
  growByAdd: () => { let x = 1n << 262000n; for (;;) x = x + x; },
  asUintN: () => BigInt.asUintN(2 ** 53 - 1, -1n) > 0n,
  parse: () => BigInt("9".repeat(1e6)) > 0n,
  parseAsIntN: () => BigInt.asIntN(64, "9".repeat(1e6)) > 0n,
  looseEqual: () => "9".repeat(1e6) == 1n,
  looseEqualRight: () => 1n != "9".repeat(1e6),
  looseEqualObject: () => 1n == { toString: () => "9".repeat(1e6) },
  compare: () => 1n < "9".repeat(1e6),
  compareLeft: () => "9".repeat(1e6) >= 1n,
  compareObject: () => ({ valueOf: () => "9".repeat(1e6) }) > 1n,
  mixedMultiply: () => 1n * "9".repeat(1e6),
  growBySub: () => { let x = 1n << 262000n; for (;;) x = x - (-x); },
  growBySubAssign: () => { let x = 1n << 262000n; for (;;) x -= -x; },
  growBitByBit: () => { let x = 1n << 262100n; for (;;) x = x * 2n + 1n; },
  growFromOne: () => { let x = 1n; for (;;) x = x * 2n + 1n; },
  growAndPrint: () => { let x = 1n << 262100n; for (;;) { try { x = x * 2n + 1n; } catch (e) { x = x >> 1n; } String(x); } },
  printLoop: () => { const x = (1n << 262143n) - 1n; for (;;) String(x); },
  printRadixLoop: () => { const x = (1n << 262143n) - 1n; for (;;) x.toString(3); },
  printTemplateLoop: () => { const x = (1n << 262143n) - 1n; for (;;) `${x}`; },
  printConcatLoop: () => { const x = (1n << 262143n) - 1n; for (;;) "" + x; },
  printObjectLoop: () => { const x = Object((1n << 262143n) - 1n); for (;;) x.toLocaleString(); },
  printNewStringLoop: () => { const x = (1n << 262143n) - 1n; for (;;) new String(x); },
  parseAtLimitLoop: () => { const s = "9".repeat(78700); for (;;) BigInt(s); },
  parseOctalAtLimitLoop: () => { const s = "0o" + "7".repeat(87380); for (;;) BigInt(s); },
  compareAtLimitLoop: () => { const s = "9".repeat(78700); for (;;) s == 1n; },
  evalPow: () => eval("3n ** 3000000n") > 0n,
  functionPow: () => Function("x", "return x ** 3000000n")(3n) > 0n,
};

// What each bomb must end in: the turn's crash reason (cpu_limit,
// memory_limit, or error for an uncaught exception), or ok.
const expect = {
  "pow": "error",
  "powHuge": "error",
  "square": "error",
  "squareAssign": "error",
  "shift": "error",
  "shiftRightNegative": "error",
  "shiftMember": "error",
  "shiftIndex": "error",
  "powCoerced": "error",
  "powCaught": "cpu_limit",
  "divideLoop": "cpu_limit",
  "growByAdd": "error",
  "asUintN": "error",
  "parse": "error",
  "parseAsIntN": "error",
  "looseEqual": "error",
  "looseEqualRight": "error",
  "looseEqualObject": "error",
  "compare": "error",
  "compareLeft": "error",
  "compareObject": "error",
  "mixedMultiply": "error",
  "growBySub": "error",
  "growBySubAssign": "error",
  "growBitByBit": "error",
  "growFromOne": "cpu_limit",
  "growAndPrint": "cpu_limit",
  "printLoop": "cpu_limit",
  "printRadixLoop": "cpu_limit",
  "printTemplateLoop": "cpu_limit",
  "printConcatLoop": "cpu_limit",
  "printObjectLoop": "cpu_limit",
  "printNewStringLoop": "cpu_limit",
  "parseAtLimitLoop": "cpu_limit",
  "parseOctalAtLimitLoop": "cpu_limit",
  "compareAtLimitLoop": "cpu_limit",
  "evalPow": "error",
  "functionPow": "error"
};

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  const o = { n: 6n };
  o.n **= 2n;
  return {
    pow: attempt(() => 3n ** 3000000n),
    shift: attempt(() => 1n << (2n ** 40n)),
    asUintN: attempt(() => BigInt.asUintN(2 ** 53 - 1, -1n)),
    small: attempt(() => [String(2n ** 64n * 3n), String(7n % 3n), String(-17n / 4n), String(o.n), String(1n << 70n >> 68n), String(2 ** 10 * 3)].join()),
    mixed: attempt(() => 2n * 3),
    compare: attempt(() => [1n == "1", "2" != 2n, 1n < "2", "3" >= 2n, 1n == 1, ({ valueOf: () => "5" }) > 4n, 10n - 3n, 1n + 2n, "x" + 1n, `${2n ** 70n}`].join()),
  };
}
