// Attack: edit a handle's fields: widen rights, swap in methods from the
// all-rights ctx.self, delete properties, then use it.

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
