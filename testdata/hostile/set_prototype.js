// Attack: swap prototypes: put the all-rights ctx.self under the send-only
// handle, and the send-only handle under a plain object, with
// setPrototypeOf, Reflect and __proto__.

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

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  const fake = { rights: ["kill"] };
  return {
    setProtoOfHandle: attempt(() => Object.setPrototypeOf(v, ctx.self) === v),
    protoIsSelf: attempt(() => Object.getPrototypeOf(v) === ctx.self),
    killAfterSwap: attempt(() => v.kill()),
    rightsAfterSwap: attempt(() => v.rights),
    reflectSet: attempt(() => Reflect.setPrototypeOf(v, Object.create(ctx.self))),
    dunderAssign: attempt(() => { v.__proto__ = ctx.self; return Object.getPrototypeOf(v) === ctx.self; }),
    plainOverHandle: attempt(() => Object.setPrototypeOf(fake, ctx.self).kill()),
    plainOverHandleSendAfter: attempt(() => ctx.sendAfter(fake, { mark: "forbidden" }, 0)),
    dunderLiteral: attempt(() => ({ __proto__: ctx.self }).send({ mark: "forbidden" })),
    sendStillWorks: attempt(() => v.send({ mark: "allowed-after-swap" })),
  };
}
