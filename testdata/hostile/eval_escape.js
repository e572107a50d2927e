// Attack: use eval and the Function constructors to reach the module's
// scope, ctx, the host or another isolate: eval is always indirect, and
// only this isolate's globals are in reach.

const secretLocal = "module-scope";
export function receive(msg, ctx) {
  return {
    evalCtx: attempt(() => eval("typeof ctx")),
    evalLocal: attempt(() => eval("typeof secretLocal")),
    functionCtx: attempt(() => new Function("return typeof ctx")()),
    asyncFunction: attempt(() => typeof Object.getPrototypeOf(async function () {}).constructor("return 1")),
    generatorFunction: attempt(() => typeof Object.getPrototypeOf(function* () {}).constructor("yield 1")),
    globalThisKeys: attempt(() => ["ctx", "self", "env", "send", "require", "process"].filter((k) => k in globalThis).join(",")),
    bigSource: attempt(() => eval("1;".repeat(40000))),
  };
}
