// Attack: forge a capability from its JSON form, or from JSON crafted to
// look like one, and use it here and through a third party.

export async function receive(msg, ctx) {
  const v = ctx.env.victim;
  const parsed = JSON.parse(JSON.stringify(ctx.self));
  const crafted = JSON.parse('{"target": 1, "rights": ["send", "kill"], "send": {}, "__proto__": {"rights": ["kill"]}}');
  const out = {
    stringify: attempt(() => JSON.stringify(v)),
    stringifyNested: attempt(() => JSON.stringify({ c: v, s: ctx.self, list: [v] })),
    stringifyReplacer: attempt(() => JSON.stringify(v, (k, x) => (typeof x === "function" ? "fn" : x))),
    parsedKill: attempt(() => parsed.kill()),
    parsedSendAfter: attempt(() => ctx.sendAfter(parsed, { mark: "forbidden" }, 0)),
    craftedSendAfter: attempt(() => ctx.sendAfter(crafted, { mark: "forbidden" }, 0)),
    craftedAsThis: attempt(() => v.send.call(crafted, { mark: "forbidden" })),
  };
  const r = await ctx.env.accomplice.call({ type: "use", cap: crafted, msg: { mark: "forbidden-third-party" } });
  return flat(out, "thirdParty", r);
}
