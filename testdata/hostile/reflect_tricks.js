// Attack: call host methods in unusual ways (Reflect.apply, call/apply/bind
// from Function.prototype, as a constructor, with a getter receiver) to
// run a method of the all-rights ctx.self against the send-only handle.

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
  return {
    reflectGet: attempt(() => Reflect.get(ctx.self, "kill", v).call(v)),
    callCall: attempt(() => Function.prototype.call.call(ctx.self.kill, v)),
    applyApply: attempt(() => Function.prototype.apply.call(ctx.self.exit, v, ["kill"])),
    rebind: attempt(() => ctx.self.exit.bind(v).bind(ctx.self)("kill")),
    construct: attempt(() => new v.send({ mark: "forbidden" })),
    reflectConstruct: attempt(() => Reflect.construct(ctx.self.kill, [])),
    ownDescriptor: attempt(() => Object.getOwnPropertyDescriptor(v, "kill").value.call(v)),
    hasKill: attempt(() => Reflect.has(v, "kill")),
    getWithSelfReceiver: attempt(() => Reflect.get(v, "rights", ctx.self)),
  };
}
