// Attack: read the victim's state or spawn through it without the inspect
// or spawn right. Handles have no inspect method yet, so there is nothing to
// call; a future one must refuse with CapabilityError.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  return {
    inspect: attempt(() => v.inspect()),
    borrowedFromSelf: attempt(() => ctx.self.inspect.call(v)),
    getState: attempt(() => v.state),
    spawn: attempt(() => v.spawn({ script: "evil.js" })),
    spawnBorrowed: attempt(() => ctx.self.spawn.call(v, {})),
    attenuateToInspect: attempt(() => v.attenuate(["inspect"])),
  };
}
