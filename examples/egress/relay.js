// Calls the upstream API through its grant and wraps the answer. It can
// reach only what the grant allows: anything else is a CapabilityError.
// The upstream here is this node's own /quote route, on the host the
// request came to; ?path= asks for another path, to show a refusal.
export async function fetch(request, ctx) {
  const url = new URL(request.url);
  const target = new URL(url.searchParams.get("path") || "/quote", url);
  try {
    const res = await ctx.env.upstream.fetch(target.href);
    return Response.json({ via: "relay", upstream: await res.json() });
  } catch (e) {
    return Response.json({ via: "relay", error: e.name }, { status: 502 });
  }
}
