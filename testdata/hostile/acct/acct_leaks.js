// Looks for host details in what the host API shows a tenant: the string
// forms of ctx, ctx.env, capabilities and monitor references, and the
// stacks of errors, its own and the host's.
export function receive(msg, ctx) {
  const out = {};
  const ref = ctx.env.peer.monitor();
  const tries = {
    env: () => String(ctx.env),
    envTemplate: () => `${ctx.env}`,
    envConcat: () => ctx.env + "",
    envTag: () => Object.prototype.toString.call(ctx.env),
    envNumber: () => String(+ctx.env),
    ctx: () => String(ctx),
    self: () => String(ctx.self),
    peer: () => String(ctx.env.peer),
    ref: () => String(ref),
    refTemplate: () => `${ref}`,
    json: () => JSON.stringify([ctx, ctx.env, ctx.self, ref]),
    stack: () => new Error("mine").stack,
    hostError: () => { try { ctx.env.peer.kill(); } catch (e) { return e.stack; } },
    typeError: () => { try { null.x; } catch (e) { return e.stack; } },
    deleteEnv: () => { "use strict"; try { delete ctx.env.peer; } catch (e) { return e.message; } },
  };
  for (const k in tries) {
    try { out[k] = String(tries[k]()); } catch (e) { out[k] = "threw " + e.name + ": " + e.message; }
  }
  return out;
}
