// A chat member: joins the room with a send-only capability to itself, says
// hello, and keeps what it hears.
let nick = "";
const heard = [];

export async function init(args, ctx) {
  nick = args.nick;
  await ctx.env.room.call({ type: "join", nick, member: ctx.self.attenuate(["send"]) });
  ctx.env.room.send({ type: "say", nick, text: `hello from ${nick}` });
}

export function receive(msg, ctx) {
  if (msg.type === "said" || msg.type === "joined") {
    heard.push(msg);
    if (msg.type === "said") console.log(`${nick} heard ${msg.nick}: ${msg.text}`);
  }
  if (msg.type === "heard") return heard;
}
