// Attack: forge a capability from its JSON form, or from JSON crafted to
// look like one, and use it here and through a third party.

// Each attempt is reported as "ok:<what it returned>" or "<error name>: <message>".
function describe(v) {
  if (v === undefined) return "undefined";
  if (typeof v === "object" && v !== null && String(v) === "[object Capability]") return "capability(" + v.rights + ")";
  if (v instanceof Uint8Array) return "Uint8Array(" + Array.from(v).join(",") + ")";
  if (typeof v === "function") return "function";
  return typeof v + ":" + JSON.stringify(v);
}
function attempt(f) {
  try { return "ok:" + describe(f()); } catch (e) { return e.name + ": " + e.message; }
}
async function attemptAsync(f) {
  try { return "ok:" + describe(await f()); } catch (e) { return e.name + ": " + e.message; }
}
// flat copies a third party's report into ours under prefix.
function flat(out, prefix, r) {
  for (const k of Object.keys(r)) out[prefix + "." + k] = r[k];
  return out;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
