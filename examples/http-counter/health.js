// Answers GET /health.
const started = new Date().toISOString();

export function fetch(request) {
  return Response.json({ ok: true, since: started });
}
