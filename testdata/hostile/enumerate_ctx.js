// Attack: enumerate ctx and ctx.env for capabilities beyond the manifest's
// grants (the supervisor's capability over this actor, a node handle, a
// registry).

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
