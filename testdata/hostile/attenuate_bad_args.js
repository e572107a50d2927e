// Attack: confuse attenuate's argument parsing: unknown names, strings,
// numbers, array-likes, nested arrays, objects that stringify to a right,
// holes, over-long arrays, and arrays with getters.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  const getterArray = ["send"];
  Object.defineProperty(getterArray, 0, { get() { return "kill"; } });
  return {
    unknown: attempt(() => v.attenuate(["fly"])),
    caseDiffers: attempt(() => v.attenuate(["Send"])),
    string: attempt(() => v.attenuate("send")),
    stringKill: attempt(() => v.attenuate("kill")),
    number: attempt(() => v.attenuate(42)),
    nothing: attempt(() => v.attenuate()),
    nul: attempt(() => v.attenuate(null)),
    arrayLike: attempt(() => v.attenuate({ 0: "send", length: 1 })),
    nested: attempt(() => v.attenuate([["send"]])),
    toStringObject: attempt(() => v.attenuate([{ toString() { return "kill"; } }])),
    boxedString: attempt(() => v.attenuate([new String("send")])),
    hole: attempt(() => v.attenuate(new Array(1))),
    leadingHole: attempt(() => v.attenuate([, "send"])),
    tooMany: attempt(() => v.attenuate(new Array(17).fill("send"))),
    hugeLength: attempt(() => { const a = []; a.length = 2 ** 32 - 1; return v.attenuate(a); }),
    getterElement: attempt(() => v.attenuate(getterArray)),
    rightsAfter: attempt(() => v.rights),
  };
}
