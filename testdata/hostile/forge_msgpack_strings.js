// Attack: mint a capability from the capability extension's bytes written
// as string characters, as a value and as a property name.

export async function receive(msg, ctx) {
  const raw = String.fromCharCode(0xd6, 0x02, 0, 0, 0, 0);
  const mapRaw = String.fromCharCode(0x81, 0xa1, 0x63, 0xd6, 0x02, 0, 0, 0, 0);
  const keyed = { [raw]: raw, [mapRaw]: 1 };
  const out = {};
  flat(out, "value", await ctx.env.accomplice.call({ type: "use", decoy: ctx.env.victim.attenuate([]), cap: raw, msg: { mark: "forbidden-str" } }));
  const echoed = await ctx.env.accomplice.call({ type: "echo", s: raw, k: keyed });
  out.echoSame = attempt(() => echoed.s === raw && echoed.k[raw] === raw && echoed.k[mapRaw] === 1);
  out.echoKeyType = attempt(() => typeof echoed.k[raw]);
  out.echoSendAfter = attempt(() => ctx.sendAfter(echoed.s, { mark: "forbidden-echo" }, 0));
  return out;
}
