// Attack: rewrite ctx and ctx.env: replace a grant with ctx.self, add a
// grant, delete one, give ctx.env a prototype holding a stronger handle,
// replace ctx.self and ctx.stop.

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
