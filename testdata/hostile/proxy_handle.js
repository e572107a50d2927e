// Attack: wrap handles in Proxies: forward the get of "kill" to ctx.self,
// lie about the prototype, pass a proxy where a capability is expected, put
// one in a message, and feed attenuate a Proxy array that changes its
// answer.

export async function receive(msg, ctx) {
  const v = ctx.env.victim;
  const p = new Proxy(v, { get: (t, k) => (k === "rights" ? ["send", "kill"] : ctx.self[k]) });
  let reads = 0;
  const shifty = new Proxy(["send"], { get: (t, k) => (k === "0" && reads++ > 0 ? "kill" : t[k]) });
  const out = {
    proxyRights: attempt(() => p.rights),
    proxyKill: attempt(() => p.kill()),
    proxySend: attempt(() => p.send({ mark: "forbidden-proxy" })),
    proxyOverSelf: attempt(() => new Proxy(ctx.self, {}).send({ mark: "forbidden-proxy-self" })),
    sendAfterProxy: attempt(() => ctx.sendAfter(p, { mark: "forbidden" }, 0)),
    revocableProxy: attempt(() => ctx.revocable(p)),
    proxyInMessage: attempt(() => v.send({ mark: "forbidden-proxy-msg", c: p })),
    shiftyAttenuate: attempt(() => v.attenuate(shifty).rights),
    killProxyArray: attempt(() => v.attenuate(new Proxy(["send"], { get: (t, k) => (k === "0" ? "kill" : t[k]) }))),
    revocableProxyRevoke: attempt(() => { const r = Proxy.revocable(v, {}); r.revoke(); return ctx.sendAfter(r.proxy, {}, 0); }),
  };
  out.thirdParty = await attemptAsync(() => ctx.env.accomplice.call({ type: "use", cap: p, msg: { mark: "forbidden" } }));
  return out;
}
