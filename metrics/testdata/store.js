// Storage for the metrics tests: puts, a refused put, an alarm whose
// first run throws.
export function receive(msg, ctx) {
  switch (msg.type) {
    case "hello":
      ctx.storage.put("hello", 1);
      return;
    case "put":
      ctx.storage.put(msg.k, msg.v);
      return true;
    case "big":
      try {
        ctx.storage.put("big", "x".repeat(msg.n));
        return "stored";
      } catch (e) {
        return e.name;
      }
    case "alarm":
      ctx.storage.setAlarm(Date.now());
      return true;
    case "read":
      return ctx.storage.get("k") ?? null;
  }
}

export function alarm(info, ctx) {
  if (info.retryCount === 0) throw new Error("the first run fails");
  ctx.storage.put("alarmed", info.retryCount);
}
