// Attack: enumerating a large typed array's own keys, which goja does in
// one Go loop that makes a string (or more) per element: Object.keys,
// getOwnPropertyNames, values, entries, getOwnPropertyDescriptors and
// assign, Reflect.ownKeys, and object spread, on the array itself, on a
// proxy of it and on strings, once over an 8 MB array (Object.keys of it
// ran 1.8 s and held 312 MB in goja alone) and in loops over smaller ones.

const huge = () => new Uint8Array(8e6);
const spin = (f) => { const a = new Uint8Array(2e4); for (;;) f(a); };
const bombs = {
  keys: () => Object.keys(huge()).length,
  keysLoop: () => spin((a) => Object.keys(a)),
  names: () => Object.getOwnPropertyNames(huge()).length,
  namesLoop: () => spin((a) => Object.getOwnPropertyNames(a)),
  ownKeys: () => Reflect.ownKeys(huge()).length,
  ownKeysLoop: () => spin((a) => Reflect.ownKeys(a)),
  values: () => Object.values(huge()).length,
  valuesLoop: () => spin((a) => Object.values(a)),
  entries: () => Object.entries(huge()).length,
  entriesLoop: () => spin((a) => Object.entries(a)),
  descriptors: () => Object.keys(Object.getOwnPropertyDescriptors(huge())).length,
  descriptorsLoop: () => spin((a) => Object.getOwnPropertyDescriptors(a)),
  assign: () => Object.keys(Object.assign({}, huge())).length,
  assignLoop: () => spin((a) => Object.assign({}, a)),
  assignTypedLoop: () => { const b = new Uint8Array(2e6); spin((a) => Object.assign(b, a, a, a)); },
  spread: () => ({ ...huge() }),
  spreadLoop: () => spin((a) => ({ x: 1, ...a })),
  proxyKeys: () => Object.keys(new Proxy(new Proxy(huge(), {}), {})).length,
  proxySpreadLoop: () => spin((a) => ({ ...new Proxy(a, {}) })),
  stringKeys: () => Object.keys("x".repeat(4e6)).length,
  stringKeysLoop: () => { const s = "x".repeat(1e4); for (;;) Object.values(s); },
  stringSpreadLoop: () => { const s = new String("é".repeat(5e3)); for (;;) ({ ...s }); },
  stringAssignLoop: () => { const s = "x".repeat(5e3); for (;;) Object.assign({}, s); },
  evalSpreadLoop: () => spin((0, eval)("(a) => ({ ...a })")),
  evalSpread: () => (0, eval)("(a) => ({ ...a })")(huge()),
  functionSpread: () => new Function("a", "return { ...a }")(huge()),
  functionSpreadLoop: () => spin(new Function("a", "return { ...a, ...a }")),
};

// What each bomb must end in: the turn's crash reason (cpu_limit,
// memory_limit, or error for an uncaught exception), or ok.
const expect = {};
for (const name of Object.keys(bombs)) expect[name] = "cpu_limit|memory_limit";

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  return {
    small: attempt(() => {
      const a = new Uint8Array(1000).map((_, i) => i);
      const k = Object.keys(a);
      const s = { ...new Int8Array([-1, 2]), x: 3 };
      return [k.length, k[999], Object.values(a)[999], Object.getOwnPropertyNames(a).length,
        Reflect.ownKeys(new Uint8Array(2)).join(), JSON.stringify(Object.entries(new Int8Array([-1]))),
        JSON.stringify(Object.assign({}, new Uint8Array([5, 6]))), JSON.stringify(s),
        Object.keys(new Proxy(a, {})).length, JSON.stringify({ ...new Proxy(new Uint8Array([9]), {}) })].join("|");
    }),
  };
}
