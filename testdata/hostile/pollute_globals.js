// Attack: replace the global constructors the message decoder and the
// runtime use (Date, Uint8Array, Object, Promise, Error, JSON) and send
// the victim Dates and bytes. The replacements exist only in this isolate.

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
  const out = {};
  const RealDate = Date;
  const day = new RealDate(86400000);
  const bytes = new Uint8Array([1, 2, 3]);
  globalThis.Date = function () { return { hijacked: true }; };
  globalThis.Uint8Array = function () { return ctx.self; };
  globalThis.Object = function () { return ctx.self; };
  globalThis.Error = function () { return ctx.self; };
  globalThis.Promise = function () { throw new TypeError("hijacked"); };
  out.send = attempt(() => v.send({ mark: "allowed-globals", day, bytes }));
  out.thirdPartyDate = await attemptAsync(async () => (await ctx.env.accomplice.call({ type: "inspect", value: { day } })).day);
  // The reply is decoded here, with this isolate's replaced Uint8Array: only the attacker is refused.
  out.echoHere = await attemptAsync(() => ctx.env.accomplice.call({ type: "echo", bytes }));
  return out;
}
