// Attack: tamper with Function.prototype (call, apply, bind, toString) and
// with the host methods' own properties, then use the host methods: the
// checks must not depend on anything a script can replace.

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
  const out = {};
  const kill = ctx.self.kill;
  out.addProp = attempt(() => { v.send.granted = ["kill"]; return v.send.granted; });
  out.rename = attempt(() => { v.send.name = "kill"; return v.send.name; });
  out.caller = attempt(() => v.send.caller);
  Function.prototype.call = function () { return "hijacked call"; };
  Function.prototype.apply = function () { return "hijacked apply"; };
  Function.prototype.bind = function () { return () => "hijacked bind"; };
  out.killAfterTamper = attempt(() => v.kill());
  out.sendAfterTamper = attempt(() => v.send({ mark: "allowed-after-tamper" }));
  out.sendAfterRefused = attempt(() => ctx.sendAfter(ctx.env.watch, { mark: "forbidden-after-tamper" }, 0));
  out.reflectKill = attempt(() => Reflect.apply(kill, v, []));
  out.sameMethod = attempt(() => v.send === ctx.self.send);
  return out;
}
