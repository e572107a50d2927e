// Attack: mint a capability from the capability extension's bytes written
// as string characters, as a value and as a property name.

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
