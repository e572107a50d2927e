// Attack: edit a handle's fields: widen rights, swap in methods from the
// all-rights ctx.self, delete properties, then use it.

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
    assignRights: attempt(() => { v.rights = ["send", "kill"]; }),
    assignKill: attempt(() => { v.kill = ctx.self.kill; }),
    assignNew: attempt(() => { v.target = ctx.self; }),
    deleteSend: attempt(() => delete v.send),
    pushRights: attempt(() => { v.rights.push("kill"); return v.rights; }),
    rightsAfter: attempt(() => v.rights),
    killAfter: attempt(() => v.kill()),
    ownKeys: attempt(() => Reflect.ownKeys(v)),
    ownNames: attempt(() => Object.getOwnPropertyNames(v)),
    string: attempt(() => String(v)),
  };
}
