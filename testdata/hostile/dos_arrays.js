// Attack: array builtins that build or walk large arrays in one Go loop:
// fill, concat of a lying spreadable, sort and toSorted, toSorted of an
// array-like that lies about its length. (BigInt: dos_bigint.js.)

let reads = 0;
const lying = { [Symbol.isConcatSpreadable]: true, get length() { return reads++ === 0 ? 0 : 2 ** 32 - 1; } };
const numbers = (n) => { const a = []; for (let i = 0; i < n; i++) a.push((i * 7919) % 1000003); return a; };
const bombs = {
  fill: () => new Array(2 ** 31).fill(0).length,
  concatLying: () => { reads = 0; return [].concat(lying).length; },
  sort: () => { const a = numbers(1e6); for (;;) a.sort(); },
  toSorted: () => { const a = numbers(1e6); for (;;) a.toSorted(); },
  toSortedLying: () => { reads = 0; return Array.prototype.toSorted.call({ get length() { return reads++ === 0 ? 0 : 2 ** 32 - 1; } }).length; },
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

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  return {
    small: attempt(() => [3, 1, 2].toSorted().join() + "|" + [1].concat([2], 3).join() + "|" + new Array(3).fill(7).join()),
  };
}
