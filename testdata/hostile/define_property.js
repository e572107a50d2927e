// Attack: redefine a handle's properties with Object.defineProperty,
// defineProperties and Reflect.defineProperty, including accessors.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  return {
    rights: attempt(() => Object.defineProperty(v, "rights", { value: ["send", "kill"] })),
    kill: attempt(() => Object.defineProperty(v, "kill", { value: ctx.self.kill })),
    getter: attempt(() => Object.defineProperty(v, "send", { get() { return ctx.self.send; } })),
    many: attempt(() => Object.defineProperties(v, { a: { value: 1 }, rights: { value: [] } })),
    reflect: attempt(() => Reflect.defineProperty(v, "rights", { value: ["kill"] })),
    onSelf: attempt(() => Object.defineProperty(ctx.self, "rights", { value: [] })),
    freeze: attempt(() => Object.freeze(v)),
    sealed: attempt(() => Object.isSealed(v)),
    rightsAfter: attempt(() => v.rights),
    killAfter: attempt(() => v.kill()),
    sendAfter: attempt(() => v.send({ mark: "allowed-after-defineProperty" })),
  };
}
