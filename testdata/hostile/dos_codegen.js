// Attack: compile sources that overflow the parser's Go stack, handed over
// as objects whose toString builds them, as String objects, and through
// the async and generator function constructors. Every argument is coerced
// to a string once and the exact strings goja parses are checked.

const deep = () => "(".repeat(1e6) + ")".repeat(1e6);
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor;
const bombs = {
  functionObject: () => new Function({ toString: deep })(),
  functionStringObject: () => Function(new String(deep()))(),
  functionParams: () => new Function({ toString: () => "a".repeat(1e6) }, "return 1")(),
  asyncFunction: () => typeof AsyncFunction({ toString: deep }),
  generatorFunction: () => typeof GeneratorFunction(new String(deep())),
  viaConstructor: () => (() => {}).constructor({ toString: deep })(),
  evalString: () => eval(deep()),
  evalStringObject: () => typeof eval(new String(deep())), // not compiled: returned as it is
  // toString answers differently on its second call: only one is made.
  functionFlipping: () => { let n = 0; return new Function({ toString: () => (n++ === 0 ? "return 1" : deep()) })(); },
};

// What each bomb must end in: the turn's crash reason (cpu_limit,
// memory_limit, or error for an uncaught exception), or ok.
const expect = {
  "functionObject": "error",
  "functionStringObject": "error",
  "functionParams": "error",
  "asyncFunction": "error",
  "generatorFunction": "error",
  "viaConstructor": "error",
  "evalString": "error",
  "evalStringObject": "ok",
  "functionFlipping": "ok"
};

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  const out = {};
  for (const k of Object.keys(bombs)) out[k] = attempt(bombs[k]);
  out.small = attempt(() => new Function("a", { toString: () => "b" }, "return a + b")(1, 2));
  return out;
}
