// The accomplice is a third party with no grants of its own. It keeps what
// the attacker hands it and tries to use it as a capability on request,
// reporting what happened.

const held = [];

function describe(v) {
  if (v === undefined) return "undefined";
  if (typeof v === "object" && v !== null && String(v) === "[object Capability]") return "capability(" + v.rights + ")";
  if (v instanceof Uint8Array) return "Uint8Array(" + Array.from(v).join(",") + ")";
  return typeof v + ":" + JSON.stringify(v);
}

function attempt(f) {
  try { return "ok:" + describe(f()); } catch (e) { return e.name + ": " + e.message; }
}

function use(ctx, c, m) {
  return {
    what: attempt(() => c),
    send: attempt(() => c.send(m)),
    revocable: attempt(() => ctx.revocable(c).cap),
    kill: attempt(() => c.kill()),
    attenuate: attempt(() => c.attenuate(["send", "kill"])),
  };
}

export async function receive(msg, ctx) {
  switch (msg.type) {
    case "sleep": await new Promise((r) => setTimeout(r, msg.ms)); return null;
    case "hold": held.push(msg.cap); return held.length;
    case "use": return use(ctx, msg.cap, msg.msg);
    case "useHeld": return held.map((c) => use(ctx, c, msg.msg));
    case "echo": return msg;
    case "inspect": {
      const out = {};
      for (const k of Object.keys(msg.value)) out[k] = attempt(() => msg.value[k]);
      return out;
    }
  }
  return null;
}
