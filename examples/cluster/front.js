// The front, on node a. Every 200 ms it sends to the counter on node b;
// every fifth tick it calls the counter and runs a job on a worker it
// spawns on node c, lending that worker a revocable capability to the
// counter. It monitors and links the counter and monitors the pool, so it
// learns when node b or c is lost (reason "noconnection"), and watches
// again once a call or a spawn gets through. GET /report, a call
// {type: "report"} and inspect() show what it has seen.
const TICK = 200;
const CALL = { timeout: 1000 };

const stats = {
  ticks: 0,
  sent: 0,            // sends to the counter that left this node
  calls: 0,           // calls to the counter answered
  value: 0,           // the counter's value at the last answer
  jobs: 0,            // workers spawned on c that squared their number
  lent: 0,            // ... and added it to the counter on b with the loan
  revoked: 0,         // ... and were refused once the loan was revoked
  errors: {},         // failures by error name: NoConnectionError, TimeoutError, ...
  downs: {},          // the counter's and the pool's down notifications, by reason
  exits: {},          // exit notifications (from the link with the counter), by reason
  workers: {},        // the workers' down notifications, by reason
  events: [],         // the last 100 of: watch:<target>, down:<target>:<reason>, exit:<reason>
};

// The monitors on the counter's and the pool's running incarnations.
const watching = { counter: null, pool: null };

function count(table, key) {
  table[key] = (table[key] ?? 0) + 1;
}

function note(event) {
  stats.events.push(event);
  if (stats.events.length > 100) stats.events.shift();
}

export function init(args, ctx) {
  ctx.trapExits(true); // the link's exit arrives as a notification
  ctx.sendAfter(ctx.self, { type: "tick" }, TICK);
}

export async function receive(msg, ctx) {
  if (ctx.isNotification(msg)) {
    notified(msg);
    return;
  }
  switch (msg.type) {
    case "tick":
      try {
        await tick(ctx);
      } finally {
        ctx.sendAfter(ctx.self, { type: "tick" }, TICK);
      }
      return;
    case "report":
      return report(ctx);
  }
}

function notified(msg) {
  if (msg.type === "exit") {
    count(stats.exits, msg.reason);
    note("exit:" + msg.reason);
    return;
  }
  if (msg.type !== "down") return;
  for (const target of ["counter", "pool"]) {
    if (msg.ref === watching[target]) {
      count(stats.downs, msg.reason);
      note("down:" + target + ":" + msg.reason);
      watching[target] = null; // watch again once it answers
      return;
    }
  }
  count(stats.workers, msg.reason);
}

async function tick(ctx) {
  const counter = ctx.env.counter;
  stats.ticks++;
  try {
    counter.send({ type: "inc" });
    stats.sent++;
  } catch (e) {
    count(stats.errors, e.name); // NoConnectionError while node b is lost: at once
  }
  if (stats.ticks % 5 !== 0 && watching.counter) return;
  try {
    stats.value = await counter.call({ type: "get" }, CALL);
    stats.calls++;
    if (!watching.counter) {
      // The counter answers: node b is up (again). Watch its incarnation.
      watching.counter = counter.monitor();
      counter.link();
      note("watch:counter");
    }
  } catch (e) {
    count(stats.errors, e.name);
  }
  if (stats.ticks % 5 === 0) await job(ctx, stats.ticks);
}

// job spawns a worker on node c, lends it the counter for one call, takes
// the loan back, and checks that the worker can no longer use it.
async function job(ctx, n) {
  let w;
  try {
    w = await ctx.env.pool.spawn({});
    if (!watching.pool) {
      watching.pool = ctx.env.pool.monitor();
      note("watch:pool");
    }
    w.monitor(); // its down (reason "normal") follows "stop"
    const { cap, revoke } = ctx.revocable(ctx.env.counter.attenuate(["send"]));
    const r = await w.call({ type: "square", n, counter: cap }, CALL);
    if (r.square === n * n) stats.jobs++;
    if (r.added) stats.lent++;
    revoke();
    if ((await w.call({ type: "again" }, CALL)) === "CapabilityError") stats.revoked++;
    w.send({ type: "stop" });
  } catch (e) {
    count(stats.errors, e.name);
    try {
      if (w) w.kill();
    } catch {
      // its node is gone, and the worker with it
    }
  }
}

async function report(ctx) {
  let counter;
  try {
    counter = await ctx.env.counter.inspect();
  } catch (e) {
    counter = { error: e.name };
  }
  return { ...stats, counter };
}

export async function fetch(request, ctx) {
  return Response.json(await report(ctx));
}

export function inspect() {
  return stats;
}
