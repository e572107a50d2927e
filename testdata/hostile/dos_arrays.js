// Attack: array builtins that build or walk large arrays in one Go loop:
// fill, concat of a lying spreadable, sort and toSorted, toSorted of an
// array-like that lies about its length, the copying methods over a
// 2^32-long array-like, and typed array methods in loops. (BigInt:
// dos_bigint.js.)

let reads = 0;
const lying = { [Symbol.isConcatSpreadable]: true, get length() { return reads++ === 0 ? 0 : 2 ** 32 - 1; } };
const numbers = (n) => { const a = []; for (let i = 0; i < n; i++) a.push((i * 7919) % 1000003); return a; };
const bombs = {
  fill: () => new Array(2 ** 31).fill(0).length,
  concatLying: () => { reads = 0; return [].concat(lying).length; },
  sort: () => { const a = numbers(1e6); for (;;) a.sort(); },
  toSorted: () => { const a = numbers(1e6); for (;;) a.toSorted(); },
  toSortedLying: () => { reads = 0; return Array.prototype.toSorted.call({ get length() { return reads++ === 0 ? 0 : 2 ** 32 - 1; } }).length; },
  toReversedLike: () => Array.prototype.toReversed.call({ length: 2 ** 32 - 1 }).length,
  toSplicedLike: () => Array.prototype.toSpliced.call({ length: 2 ** 32 - 2 }, 0, 0).length,
  withLike: () => Array.prototype.with.call({ length: 2 ** 32 - 1 }, 0, 1).length,
  toReversedSparse: () => { const a = []; a[2 ** 32 - 2] = 1; return a.toReversed().length; },
  typedSubarrayMap: () => { const keep = []; const a = new Float64Array(4e6); for (;;) keep.push(a.map((x) => x)); },
  typedJoin: () => new Uint8Array(2e7).join("").length, // ~0.5 s unguarded: past the actor test's 250 ms too
  typedSortLoop: () => { const a = new Float64Array(1e6).map((_, i) => (i * 7919) % 1000003); for (;;) a.sort(); },
  typedIncludes: () => { const a = new Float64Array(2e6); for (;;) a.includes(1); },
  typedIndexOf: () => { const a = new Float64Array(2e6); for (;;) a.lastIndexOf(1); },
  typedFill: () => { const a = new Float64Array(2e6); for (;;) a.fill(1); },
  typedReverse: () => { const a = new Float64Array(2e6); for (;;) a.reverse(); },
  typedFind: () => { const a = new Float64Array(2e6); for (;;) a.findLast((x) => x === 1); },
  typedIndexOfFwd: () => { const a = new BigInt64Array(2e6); for (;;) a.indexOf(1n, -1.5e6); },
  typedCopyWithin: () => { const a = new Float64Array(2e6); for (;;) a.copyWithin(1, 0); },
  typedFillFresh: () => { for (;;) new Float64Array(2e6).fill(1, 5); },
  typedFillHuge: () => { const a = new Uint8Array(6e7); for (;;) a.fill(1); },
  typedSetLoop: () => { const a = new Float64Array(1e6), b = new Float64Array(1e6); for (;;) a.set(b); },
  typedSetConvert: () => { const a = new Float64Array(2e6), b = new Int32Array(2e6); for (;;) a.set(b); },
  typedSearchFresh: () => { for (;;) new Int16Array(4e6).includes(-1); },
  arrayAt: () => { const s = "x".repeat(1e6); let n = 0; for (;;) n += s.codePointAt(n % 1e6) + s.at(-1).length; },
};

// What each bomb must end in: the turn's crash reason (cpu_limit,
// memory_limit, or error for an uncaught exception), or ok.
const expect = {
  "fill": "memory_limit",
  "concatLying": "ok",
  "sort": "cpu_limit",
  "toSorted": "cpu_limit|memory_limit",
  "toSortedLying": "ok"
};
for (const name of Object.keys(bombs)) if (!(name in expect)) expect[name] = "cpu_limit|memory_limit";

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  return {
    small: attempt(() => [3, 1, 2].toSorted().join() + "|" + [1].concat([2], 3).join() + "|" + new Array(3).fill(7).join()),
  };
}
