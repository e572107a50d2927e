// Attack: enumerating a large typed array's (or ordinary array's) own keys, which goja does in
// one Go loop that makes a string (or more) per element: Object.keys,
// getOwnPropertyNames, values, entries, getOwnPropertyDescriptors and
// assign, Reflect.ownKeys, object spread and object rest (in
// declarations, nested patterns, parameters, assignments, for-of heads
// and catch clauses), on the array itself, on a
// proxy of it and on strings, once over an 8 MB array (Object.keys of it
// ran 1.8 s and held 312 MB in goja alone) and in loops over smaller ones.

const huge = () => new Uint8Array(8e6);
// A dense ordinary array, built by a loop that checks the interrupt
// (`new Array(n).fill(0)` fills a sparse array one element at a time).
const dense = (n) => { const a = []; for (let i = 0; i < n; i++) a[i] = 0; return a; };
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
  // Object rest copies the same way, from wherever the pattern stands.
  restDecl: () => { const { ...r } = huge(); return r; },
  restVar: () => { var { a, ...r } = huge(); return r; },
  restNested: () => { const { x: { ...r } } = { x: huge() }; return r; },
  restInArray: () => { const [{ ...r }] = [huge()]; return r; },
  restParam: () => (function (a, { ...r }) { return r; })(1, huge()),
  restArrow: () => (({ ...r }) => r)(huge()),
  restDefault: () => (({ ...r } = huge()) => r)(),
  restMethod: () => ({ m({ ...r }) { return r; } }).m(huge()),
  restAssign: () => { let r; ({ ...r } = huge()); return r; },
  restAssignNested: () => { let r; ({ x: { ...r } } = { x: huge() }); return r; },
  restForOf: () => { for (const { ...r } of [huge()]) return r; },
  restForOfAssign: () => { let r; for ({ ...r } of [huge()]); return r; },
  restCatch: () => { try { throw huge(); } catch ({ ...r }) { return r; } },
  restString: () => { const { ...r } = "x".repeat(4e6); return r; },
  restProxy: () => { const { ...r } = new Proxy(huge(), {}); return r; },
  restLoop: () => spin((a) => { const { ...r } = a; }),
  restParamLoop: () => spin(({ ...r }) => r),
  restFunction: () => new Function("a", "const { ...r } = a; return r")(huge()),
  restEvalLoop: () => spin((0, eval)("(a) => { let r; ({ ...r } = a); }")),
  // Ordinary arrays, small enough to build in a few ms: 3e4 elements take
  // 30-270 ms of entries and 150-350 ms of descriptors unguarded.
  arrayEntries: () => Object.entries(dense(3e4)).length,
  arrayDescriptors: () => Object.getOwnPropertyDescriptors(dense(3e4)),
  arrayEntriesLoop: () => { const a = dense(1e4); for (;;) Object.entries(a); },
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
        Object.keys(new Proxy(a, {})).length, JSON.stringify({ ...new Proxy(new Uint8Array([9]), {}) }),
        JSON.stringify((({ 0: z, ...r }) => [z, r])(new Int8Array([4, -5])))].join("|");
    }),
  };
}
