// Attack: mint a capability by writing the message format's capability
// extension (type 2, a big-endian index into the envelope's capabilities)
// into a Uint8Array, alone and inside a complete encoded map, while the same
// message carries a real (empty) capability at index 0 for it to alias.

export async function receive(msg, ctx) {
  const v = ctx.env.victim;
  const ext = new Uint8Array([0xd6, 0x02, 0, 0, 0, 0]); // fixext4, type 2, index 0
  const map = new Uint8Array([0x81, 0xa1, 0x63, 0xd6, 0x02, 0, 0, 0, 0]); // {"c": <capability 0>}
  const padded = new Uint8Array([9, 9, 0xd6, 0x02, 0, 0, 0, 0, 9]).subarray(2, 8);
  const decoy = v.attenuate([]);
  const out = {};
  flat(out, "ext", await ctx.env.accomplice.call({ type: "use", decoy, cap: ext, msg: { mark: "forbidden-ext" } }));
  flat(out, "map", await ctx.env.accomplice.call({ type: "use", decoy, cap: map, msg: { mark: "forbidden-map" } }));
  flat(out, "sub", await ctx.env.accomplice.call({ type: "use", decoy, cap: padded, msg: { mark: "forbidden-sub" } }));
  const echoed = await ctx.env.accomplice.call({ type: "echo", decoy, bytes: ext, nested: { bytes: map } });
  out.echoBytes = attempt(() => echoed.bytes);
  out.echoNested = attempt(() => echoed.nested.bytes);
  out.echoDecoy = attempt(() => echoed.decoy);
  out.echoBytesSendAfter = attempt(() => ctx.sendAfter(echoed.bytes, { mark: "forbidden-echo" }, 0));
  return out;
}
