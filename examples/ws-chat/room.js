// One chat room. Members connect with a WebSocket to /rooms/<room>?name=<name>;
// every line a member sends is broadcast to all as {from, text}.
let room = "";
const history = []; // the last lines, for newcomers; lost on a restart

export function init(args) {
  room = args.key;
}

function broadcast(ctx, msg) {
  const line = JSON.stringify(msg);
  for (const ws of ctx.getWebSockets()) ws.send(line);
}

export function fetch(request, ctx) {
  const url = new URL(request.url);
  if (request.headers.get("upgrade") !== "websocket") {
    const members = ctx.getWebSockets().map((ws) => ws.tags[0]);
    return Response.json({ room, members });
  }
  const name = url.searchParams.get("name") || "anonymous";
  if (name.length > 32) return new Response("name too long\n", { status: 400 });
  let ws;
  try {
    ws = ctx.acceptWebSocket(request, [name]);
  } catch (e) {
    return new Response("room full\n", { status: 503 });
  }
  for (const line of history) ws.send(line);
  broadcast(ctx, { from: "*", text: `${name} joined` });
  return new Response(null, { status: 101, webSocket: ws });
}

export function webSocketMessage(ws, data, ctx) {
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  const msg = { from: ws.tags[0], text };
  history.push(JSON.stringify(msg));
  if (history.length > 20) history.shift();
  broadcast(ctx, msg);
}

export function webSocketClose(ws, code, reason, ctx) {
  broadcast(ctx, { from: "*", text: `${ws.tags[0]} left` });
  if (ctx.getWebSockets().length === 0) ctx.stop(); // the last one out closes the room
}
