// Two players pass a ball back and forth; each holds a capability to the other.
let name = "";
let hits = 0;

export function init(args, ctx) {
  name = args.name;
  if (args.serve) ctx.env.peer.send({ ball: 1, replyTo: ctx.self.attenuate(["send"]) });
}

export function receive(msg, ctx) {
  hits++;
  if (msg.ball % 10000 === 0) console.log(`${name} hit ball ${msg.ball}`);
  msg.replyTo.send({ ball: msg.ball + 1, replyTo: ctx.self.attenuate(["send"]) });
}

export function inspect() {
  return { name, hits };
}
