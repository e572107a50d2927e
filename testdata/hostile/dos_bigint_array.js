// Attack: a long string stored into a BigInt typed array, which goja
// parses with math/big in time quadratic in its digits, in one piece: an
// element assignment in every form of the language (index, compound,
// logical, destructuring, for-of head, through a proxy), the builtins
// that store values (fill, set, from, of, the constructor, map, with,
// Reflect.set, Object.defineProperty, Object.assign, the generic Array
// methods), a store through super with a BigInt typed array as this, and
// a string just under the size limit stored in a loop.

const digits = () => "9".repeat(1e6);
const atLimit = () => "9".repeat(78700);
const one = () => new BigInt64Array(1);
const bombs = {
  index: () => { const a = one(); a[0] = digits(); return a[0] > 0n; },
  indexUnsigned: () => { const a = new BigUint64Array(1); a[0] = digits(); return a[0] > 0n; },
  indexOutOfRange: () => { const a = one(); a[5] = digits(); return a.length; },
  indexNegative: () => { const a = one(); a[-1] = digits(); return a.length; },
  indexString: () => { const a = one(); a["0"] = digits(); return a[0] > 0n; },
  indexObject: () => { const a = one(); a[0] = { valueOf: digits }; return a[0] > 0n; },
  indexOnce: () => { const a = one(); let n = 0; a[0] = { valueOf: () => (n++ ? digits() : "1") }; return n; },
  compound: () => { const a = one(); a[0] = 1n; a[0] += digits(); return a[0] > 0n; },
  logical: () => { const a = one(); a[0] ||= digits(); return a[0] > 0n; },
  destructure: () => { const a = one(); [a[0]] = [digits()]; return a[0] > 0n; },
  destructureObject: () => { const a = one(); ({ x: a[0] } = { x: digits() }); return a[0] > 0n; },
  destructureDefault: () => { const a = one(); [a[0] = digits()] = []; return a[0] > 0n; },
  forOf: () => { const a = one(); for (a[0] of [digits()]); return a[0] > 0n; },
  proxy: () => { const a = one(); const p = new Proxy(a, {}); p[0] = digits(); return a[0] > 0n; },
  prototype: () => { const a = one(); const o = Object.create(a); o[0] = digits(); return a[0] === 0n && o[0].length; },
  fill: () => one().fill(digits())[0] > 0n,
  fillObject: () => one().fill({ toString: digits })[0] > 0n,
  set: () => { const a = one(); a.set([digits()]); return a[0] > 0n; },
  setArrayLike: () => { const a = one(); a.set({ length: 1, 0: digits() }); return a[0] > 0n; },
  from: () => BigInt64Array.from([digits()])[0] > 0n,
  fromIterable: () => BigInt64Array.from(new Set([digits()]))[0] > 0n,
  fromMap: () => BigInt64Array.from([1], digits)[0] > 0n,
  of: () => BigUint64Array.of(digits())[0] > 0n,
  constructor: () => new BigInt64Array([digits()])[0] > 0n,
  constructorIterable: () => new BigInt64Array(new Set([digits()]))[0] > 0n,
  map: () => one().map(digits)[0] > 0n,
  with: () => one().with(0, digits())[0] > 0n,
  reflectSet: () => Reflect.set(one(), 0, digits()),
  reflectSetReceiver: () => Reflect.set({}, 0, digits(), one()),
  defineProperty: () => Object.defineProperty(one(), 0, { value: digits() })[0] > 0n,
  defineProperties: () => Object.defineProperties(one(), { 0: { value: digits() } })[0] > 0n,
  reflectDefine: () => Reflect.defineProperty(one(), 0, { value: digits() }),
  assign: () => Object.assign(one(), [digits()])[0] > 0n,
  arrayFill: () => Array.prototype.fill.call(one(), digits())[0] > 0n,
  arrayPush: () => Array.prototype.push.call(one(), digits()),
  arraySplice: () => Array.prototype.splice.call(one(), 0, 1, digits()).length,
  arrayFrom: () => Array.from.call(BigInt64Array, [digits()])[0] > 0n,
  arrayOf: () => Array.of.call(BigInt64Array, digits())[0] > 0n,
  superStore: () => { class T extends BigInt64Array { put(s) { super[0] = s; } } const a = new T(1); a.put(digits()); return a[0] > 0n; },
  superCall: () => { const a = one(); const o = { m(s) { super[0] = s; } }; o.m.call(a, digits()); return a[0] > 0n; },
  superCompound: () => { class T extends BigUint64Array { add(s) { super["0"] += s; } } const a = new T(1); a.add(digits()); return a[0] > 0n; },
  superDestructure: () => { class T extends BigInt64Array { put(s) { [super[0]] = [s]; } } const a = new T(1); a.put(digits()); return a[0] > 0n; },
  superForOf: () => { const a = one(); const o = { m(s) { for (super[0] of [s]); } }; o.m.call(new Proxy(a, {}), digits()); return a[0] > 0n; },
  superArrow: () => { class T extends BigInt64Array { put(s) { (() => { super[0] = s; })(); } } const a = new T(1); a.put(digits()); return a[0] > 0n; },
  superEval: () => { class T extends BigInt64Array { put(s) { eval("super[0] = s"); } } const a = new T(1); a.put(digits()); return a[0] > 0n; },
  speciesMap: () => { const a = [digits()]; a.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; return a.map((x) => x)[0] > 0n; },
  speciesSlice: () => { const a = [digits()]; a.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; return a.slice(0)[0] > 0n; },
  speciesConcat: () => { const a = [digits()]; a.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; return a.concat()[0] > 0n; },
  speciesFilter: () => { const a = [digits()]; a.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; return a.filter(() => true)[0] > 0n; },
  speciesSplice: () => { const a = [digits()]; a.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; return a.splice(0, 1)[0] > 0n; },
  speciesFlat: () => { const a = [[digits()]]; a.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; return a.flat()[0] > 0n; },
  speciesFlatMap: () => { const a = [1]; a.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; return a.flatMap(digits)[0] > 0n; },
  speciesClass: () => { class A extends Array { static get [Symbol.species]() { return function () { return new BigInt64Array(1); }; } } return A.from([digits()]).map((x) => x)[0] > 0n; },
  speciesGlobal: () => { Object.defineProperty(Array, Symbol.species, { get: () => BigUint64Array }); return [digits()].concat()[0] > 0n; },
  speciesPrototype: () => { Array.prototype.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; return [digits()].filter(() => true)[0] > 0n; },
  speciesProxy: () => { const a = new Proxy([digits()], {}); a.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; return Array.prototype.map.call(a, (x) => x)[0] > 0n; },
  speciesLoop: () => { const a = [atLimit()]; a.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; for (;;) a.map((x) => x); },
  speciesTypedMap: () => { const a = new Float64Array(1); a.constructor = { [Symbol.species]: function (n) { return new BigInt64Array(n); } }; return a.map(digits)[0] > 0n; },
  ofScript: () => Array.of.call(function () { return new BigInt64Array(1); }, digits())[0] > 0n,
  fromScript: () => Array.from.call(function () { return new BigInt64Array(1); }, [digits()])[0] > 0n,
  indexLoop: () => { const a = one(); const s = atLimit(); for (;;) a[0] = s; },
  fillLoop: () => { const a = new BigInt64Array(1000); const s = atLimit(); for (;;) a.fill(s); },
  setLoop: () => { const a = new BigInt64Array(1000); const s = Array(1000).fill(atLimit()); for (;;) a.set(s); },
  fromLoop: () => { const s = Array(1000).fill(atLimit()); for (;;) BigInt64Array.from(s); },
};

// What each bomb must end in: the turn's crash reason (cpu_limit,
// memory_limit, or error for an uncaught exception), or ok.
const expect = {};
for (const name of Object.keys(bombs)) expect[name] = name.endsWith("Loop") ? "cpu_limit" : "error";
expect.prototype = "ok"; // o gets an own property: nothing is parsed
expect.indexOnce = "ok"; // the object is converted once

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  const a = new BigInt64Array(4);
  const u = new BigUint64Array(2);
  const seen = [];
  a[0] = "12";
  a[1] = { valueOf: () => "-3" };
  a[2] ||= "5";
  [a[3]] = ["0x10"];
  u[0] = "18446744073709551617";
  u[1] = 7n;
  u[1] += 1n;
  const p = new Proxy(a, { set(t, k, v) { seen.push(typeof v); t[k] = v; return true; } });
  p[0] = "13";
  const b = Object.assign(new BigInt64Array(2), ["21", { valueOf: () => 22n }]);
  const c = BigInt64Array.from(["1", "2"], (v) => v + "0");
  class Tagged extends BigInt64Array { set x(v) { seen.push(this instanceof Tagged); } }
  const t = new Tagged(1);
  t.x = "9";
  t["0"] = "4";
  return {
    small: attempt(() => [...a, ...u, ...b, ...c, ...t].join() + "|" + seen.join()),
    badDigits: attempt(() => { a[0] = "12x"; }),
    fill: attempt(() => [...new BigUint64Array(2).fill("3"), ...new BigInt64Array(["4", 5n]), ...BigInt64Array.of("6"), ...a.with(1, "7")].join()),
  };
}
