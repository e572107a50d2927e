// Attack: pass capabilities on to a third party hoping they arrive with
// more rights than sent: the send-only grant, an emptied attenuation, and
// the monitor-only grant, in one message at different depths.

export async function receive(msg, ctx) {
  const a = ctx.env.accomplice;
  const out = {};
  flat(out, "sendOnly", await a.call({ type: "use", cap: ctx.env.victim, msg: { mark: "allowed-transferred" } }));
  flat(out, "empty", await a.call({ type: "use", cap: ctx.env.victim.attenuate([]), msg: { mark: "forbidden-empty" } }));
  flat(out, "monitorOnly", await a.call({ type: "use", cap: [[ctx.env.watch]][0][0], msg: { mark: "forbidden-watch" } }));
  return out;
}
