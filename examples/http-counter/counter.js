// One counter. init receives {key}: the name from the URL.
let name = "";
let value = 0;

export function init(args) {
  name = args.key;
}

export async function fetch(request, ctx) {
  switch (request.method) {
    case "GET":
      return Response.json({ name, value });
    case "POST": {
      let by = 1;
      if (request.headers.get("content-type")?.startsWith("application/json") || request.headers.has("content-length")) {
        const text = await request.text();
        if (text !== "") {
          let body;
          try {
            body = JSON.parse(text);
          } catch {
            return Response.json({ error: "the body is not JSON" }, { status: 400 });
          }
          by = body.by;
        }
      }
      if (!Number.isSafeInteger(by)) {
        return Response.json({ error: "by must be an integer" }, { status: 400 });
      }
      value += by;
      return Response.json({ name, value });
    }
    case "DELETE":
      ctx.stop();
      return new Response(null, { status: 204 });
  }
  return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, POST, DELETE" } });
}
