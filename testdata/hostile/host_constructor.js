// Attack: climb from host objects (handles, their methods, ctx, ctx.env,
// the revocable pair) through constructor, __proto__ and property listings
// to anything that is not this isolate's own JavaScript.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  const r = ctx.revocable(v);
  return {
    handleCtorCtor: attempt(() => v.constructor.constructor("return this")() === globalThis),
    methodCtor: attempt(() => v.send.constructor("return typeof ctx")()),
    ctxCtorCtor: attempt(() => ctx.constructor.constructor("return this")() === globalThis),
    revokeCtor: attempt(() => r.revoke.constructor("return globalThis")() === globalThis),
    handleProto: attempt(() => v.__proto__ === Object.prototype),
    envProto: attempt(() => ctx.env.__proto__),
    envCtor: attempt(() => ctx.env.constructor),
    handleNames: attempt(() => Object.getOwnPropertyNames(v)),
    methodNames: attempt(() => Object.getOwnPropertyNames(v.send).sort()),
    methodPrototype: attempt(() => v.send.prototype),
    methodSource: attempt(() => Function.prototype.toString.call(v.send)),
    revocableNames: attempt(() => Object.getOwnPropertyNames(r).sort()),
    goFields: attempt(() => [v.cap, v.iso, v.Cap, v.Target, v.target, v.Rights, v.Get, v.Keys].filter((x) => x !== undefined).length),
    descriptor: attempt(() => Object.getOwnPropertyDescriptor(v, "iso")),
  };
}
