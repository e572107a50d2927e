// Attack: allocation sizes that the guard and goja would read differently:
// a length behind valueOf, an array, or a getter that answers 0 the first
// time and 2^37 after. The guard coerces once and refuses, before anything
// is allocated, one allocation larger than the memory limit.

let reads = 0;
const lying = { get length() { return reads++ === 0 ? 0 : 2 ** 37; } };
const bombs = {
  bufferValueOf: () => new ArrayBuffer({ valueOf: () => 2 ** 40 }).byteLength,
  bufferArray: () => new ArrayBuffer([2 ** 40]).byteLength,
  // An object that is not a buffer is an array-like: here of length 0.
  typedValueOf: () => new Float64Array({ valueOf: () => 2 ** 37 }).length,
  typedViewLength: () => new Float64Array(new ArrayBuffer(8), 0, { valueOf: () => 2 ** 37 }).length,
  typedLyingLength: () => { reads = 0; return new Uint8Array(lying).length; },
  typedFromLying: () => { reads = 0; return Uint8Array.from(lying).length; },
  typedSubclass: () => new (class extends Int32Array {})({ valueOf: () => 2 ** 36 }).length,
  typedViaBuffer: () => new (new Uint8Array(1).buffer.constructor)({ valueOf: () => 2 ** 40 }).byteLength,
  arrayFromLying: () => { reads = 0; return Array.from(lying).length; },
  arrayFromHuge: () => Array.from({ length: 3e7 }).length,
  // Just under the limit each, kept: the limit is reached by reservation.
  keepBuffers: () => { const keep = []; for (;;) keep.push(new ArrayBuffer(8 << 20)); },
};

// What each bomb must end in: the turn's crash reason (cpu_limit,
// memory_limit, or error for an uncaught exception), or ok.
const expect = {
  "bufferValueOf": "memory_limit",
  "bufferArray": "memory_limit",
  "typedValueOf": "ok",
  "typedLyingLength": "ok",
  "typedFromLying": "ok",
  "typedSubclass": "ok",
  "typedViaBuffer": "memory_limit",
  "typedViewLength": "error",
  "arrayFromLying": "ok",
  "arrayFromHuge": "memory_limit",
  "keepBuffers": "memory_limit|cpu_limit" // 8 MiB fresh buffers: whichever limit a loaded machine reaches first
};

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  const out = {};
  for (const k of ["bufferValueOf", "bufferArray", "typedValueOf", "typedLyingLength", "typedFromLying", "typedSubclass", "typedViaBuffer", "arrayFromLying", "arrayFromHuge"]) {
    out[k] = attempt(bombs[k]);
  }
  out.small = attempt(() => new Uint8Array({ length: 3, 0: 7, 1: 8, 2: 9 }).join());
  out.smallIterable = attempt(() => new Int16Array(new Set([1, 2, 3])).join());
  return out;
}
