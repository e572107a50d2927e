// The "upstream API": answers a quote, and says whether a key came with
// the request (it never echoes the key).
const quotes = ["Let it crash.", "Share nothing.", "Ask, don't reach."];
let n = 0;

export function fetch(request) {
  const quote = quotes[n++ % quotes.length];
  return Response.json({ quote, keyed: request.headers.has("x-api-key") });
}
