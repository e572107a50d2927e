// Attack: enumerate ctx and ctx.env for capabilities beyond the manifest's
// grants (the supervisor's capability over this actor, a node handle, a
// registry).

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

const isHandle = (ctx, x) => { try { ctx.self.attenuate.call(x, []); return true; } catch (e) { return false; } };
export function receive(msg, ctx) {
  const ctxHandles = Reflect.ownKeys(ctx).filter((k) => isHandle(ctx, ctx[k]));
  const env = Reflect.ownKeys(ctx.env).map((k) => String(k) + ":" + ctx.env[k].rights).join(";");
  const revocable = ctx.revocable(ctx.env.victim);
  return {
    ctxHandles: attempt(() => ctxHandles.join(",")),
    selfRights: attempt(() => ctx.self.rights.join(",")),
    env: attempt(() => env),
    envPrototype: attempt(() => Object.getPrototypeOf(ctx.env)),
    envSymbols: attempt(() => Object.getOwnPropertySymbols(ctx.env).length),
    revocableKeys: attempt(() => Reflect.ownKeys(revocable).join(",")),
  };
}
