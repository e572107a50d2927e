// Attack: reach BigInt from a script that never names it, by names built
// at run time, to run its arithmetic unguarded. Such a script is compiled
// without the operator guards, and every source of a BigInt throws.

const name = (...parts) => parts.join("");
const bombs = {
  global: () => { const B = globalThis[name("Bi", "gInt")]; return B(3) ** B(3000000); },
  typedArray: () => { const T = globalThis[name("Bi", "gInt64Array")]; const a = T.of(T.prototype ? 3 : 3); return a[0] ** a[0]; },
  dataView: () => { const d = new DataView(new ArrayBuffer(8)); d.setUint8(7, 3); return d[name("get", "Bi", "gUint64")](0) ** 3000000; },
  evalLiteral: () => eval(name("3", "n ** 3000000", "n")),
  functionLiteral: () => Function(name("return 3", "n"))() ** 3,
};

const expect = {
  "global": "error",
  "typedArray": "error",
  "dataView": "error",
  "evalLiteral": "error",
  "functionLiteral": "error"
};

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  return {
    global: attempt(() => globalThis[name("Bi", "gInt")](3)),
    evalLiteral: attempt(() => eval(name("3", "n"))),
    small: attempt(() => [6 * 7, 2 ** 10, 1 << 4, 7 % 3, eval("6 * 7")].join()),
  };
}
