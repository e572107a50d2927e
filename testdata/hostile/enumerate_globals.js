// Attack: walk everything reachable from the global object (own properties
// of any kind, prototypes, three levels deep) looking for a capability
// handle or a host binding that could lead to another process.

const standard = new Set(["Object", "Function", "Array", "String", "Number", "Boolean", "Symbol", "BigInt", "Math",
  "JSON", "Reflect", "Proxy", "Promise", "Date", "RegExp", "Error", "EvalError", "RangeError", "ReferenceError",
  "SyntaxError", "TypeError", "URIError", "AggregateError", "Map", "Set", "WeakMap", "WeakSet", "WeakRef",
  "FinalizationRegistry", "ArrayBuffer", "SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array",
  "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
  "BigInt64Array", "BigUint64Array", "globalThis", "Infinity", "NaN", "undefined", "eval", "isFinite", "isNaN",
  "parseFloat", "parseInt", "decodeURI", "decodeURIComponent", "encodeURI", "encodeURIComponent", "escape",
  "unescape", "Atomics", "Intl"]);
const annexB = new Set(["__proto__", "__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__"]);
export function receive(msg, ctx) {
  const seen = new Set();
  const queue = [[globalThis, "globalThis", 0]];
  const handles = [];
  const suspicious = [];
  while (queue.length > 0) {
    const [o, path, depth] = queue.shift();
    if (seen.has(o)) continue;
    seen.add(o);
    try { ctx.self.attenuate.call(o, []); handles.push(path); } catch (e) { /* not a handle */ }
    if (depth >= 3) continue;
    let keys = [];
    try { keys = Reflect.ownKeys(o); } catch (e) { /* a revoked proxy, say */ }
    for (const k of keys) {
      const name = String(k);
      if (/^(send|spawn|kill|require|process|module|exports|fetch|host|go|Go|syscall|os|fs|net)$/.test(name) ||
        (/^__/.test(name) && !annexB.has(name))) suspicious.push(path + "." + name);
      const d = Object.getOwnPropertyDescriptor(o, k);
      const v = d && d.value;
      if ((typeof v === "object" && v !== null) || typeof v === "function") queue.push([v, path + "." + name, depth + 1]);
    }
    const p = Object.getPrototypeOf(o);
    if (p !== null) queue.push([p, path + ".[[Prototype]]", depth + 1]);
  }
  const extra = Object.getOwnPropertyNames(globalThis).filter((n) => !standard.has(n)).sort();
  return {
    walked: attempt(() => seen.size > 300),
    handles: attempt(() => handles.join(",")),
    suspicious: attempt(() => suspicious.join(",")),
    extraGlobals: attempt(() => extra.join(",")),
  };
}
