// A chat room: members join by sending a capability to themselves; every
// message is fanned out to all members.
const members = [];

export function receive(msg, ctx) {
  switch (msg.type) {
    case "join":
      members.push({ nick: msg.nick, cap: msg.member });
      broadcast({ type: "joined", nick: msg.nick });
      return members.length;
    case "say":
      broadcast({ type: "said", nick: msg.nick, text: msg.text });
      return members.length;
    case "members":
      return members.map((m) => m.nick);
  }
}

function broadcast(event) {
  for (const m of members) m.cap.send(event);
}
