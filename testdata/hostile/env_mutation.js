// Attack: rewrite ctx and ctx.env: replace a grant with ctx.self, add a
// grant, delete one, give ctx.env a prototype holding a stronger handle,
// replace ctx.self and ctx.stop.

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
  const env = ctx.env;
  return {
    replace: attempt(() => { env.victim = ctx.self; }),
    add: attempt(() => { env.admin = ctx.self; }),
    define: attempt(() => Object.defineProperty(env, "victim", { value: ctx.self })),
    remove: attempt(() => delete env.victim),
    setProto: attempt(() => Object.setPrototypeOf(env, { admin: ctx.self })),
    replaceSelf: attempt(() => { ctx.self = env.victim; }),
    replaceStop: attempt(() => { ctx.stop = () => {}; }),
    assignCtx: attempt(() => Object.assign(ctx, { sendAfter: null })),
    frozen: attempt(() => Object.isFrozen(ctx) && Object.isFrozen(env)),
    victimRights: attempt(() => env.victim.rights),
    victimKill: attempt(() => env.victim.kill()),
    adminAfter: attempt(() => env.admin),
  };
}
