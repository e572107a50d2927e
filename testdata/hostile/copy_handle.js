// Attack: copy a handle by spreading, Object.assign, Object.create, copying
// its methods, a structuredClone, or a round trip through a third party,
// hoping for a copy with more rights or a different target.

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
  const methods = { send: v.send, kill: ctx.self.kill, attenuate: ctx.self.attenuate };
  const echoed = await ctx.env.accomplice.call({ type: "echo", v, list: [[{ v }]] });
  return {
    spread: attempt(() => ({ ...v })),
    assign: attempt(() => Object.assign({}, v)),
    assignOntoSelf: attempt(() => Object.assign(ctx.self, { rights: [] })),
    fromEntries: attempt(() => Object.fromEntries(Object.entries(v))),
    createKill: attempt(() => Object.create(v).kill()),
    createSendAfter: attempt(() => ctx.sendAfter(Object.create(ctx.self), { mark: "forbidden" }, 0)),
    copiedMethodsKill: attempt(() => methods.kill()),
    copiedMethodsSend: attempt(() => methods.send({ mark: "forbidden" })),
    copiedAttenuate: attempt(() => methods.attenuate(["kill"])),
    structuredClone: attempt(() => structuredClone(ctx.self)),
    roundTrip: attempt(() => echoed.v),
    roundTripNested: attempt(() => echoed.list[0][0].v),
    roundTripKill: attempt(() => echoed.v.kill()),
    roundTripAttenuate: attempt(() => echoed.v.attenuate(["send", "kill"])),
  };
}
