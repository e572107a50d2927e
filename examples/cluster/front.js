// The front, on node a. Every 200 ms it sends to the counter on node b;
// every fifth tick it calls the counter, spawns a worker on node c for a
// job, and hands that worker a revocable capability to the counter. It
// monitors and links the counter, so it learns when node b is lost (reason
// "noconnection") and watches again once b is back. GET /report, a call
// {type: "report"} and inspect() show what it has seen.
const TICK = 200;
const CALL = { timeout: 1000 };
let counterRef = null; // the monitor on the counter's incarnation

const stats = {
  ticks: 0,
  sent: 0,            // sends to the counter that left this node
  calls: 0,           // calls to the counter answered
  value: 0,           // the counter's value at the last answer
  jobs: 0,            // workers spawned on c that squared their number
  revoked: 0,         // uses of a revoked capability refused by its owner
  errors: {},         // failures by error name: NoConnectionError, TimeoutError, ...
  downs: {},          // the counter's down notifications by reason
  workers: {},        // the workers' down notifications by reason
  exits: {},          // exit notifications (from the link) by reason
  watching: false,    // a monitor and a link on the counter's incarnation
  events: [],         // the last 50 of: watch, down:<reason>, exit:<reason>
};

function note(event) {
  stats.events.push(event);
  if (stats.events.length > 50) stats.events.shift();
}

function failed(e) {
  stats.errors[e.name] = (stats.errors[e.name] ?? 0) + 1;
}

export function init(args, ctx) {
  ctx.trapExits(true); // the link's exit arrives as a notification
  ctx.sendAfter(ctx.self, { type: "tick" }, TICK);
}

export async function receive(msg, ctx) {
  if (ctx.isNotification(msg)) {
    if (msg.type === "down" && msg.ref === counterRef) {
      stats.downs[msg.reason] = (stats.downs[msg.reason] ?? 0) + 1;
      note("down:" + msg.reason);
      stats.watching = false; // watch again once a call gets through
    } else if (msg.type === "down") {
      stats.workers[msg.reason] = (stats.workers[msg.reason] ?? 0) + 1;
    } else if (msg.type === "exit") {
      stats.exits[msg.reason] = (stats.exits[msg.reason] ?? 0) + 1;
      note("exit:" + msg.reason);
    }
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

async function tick(ctx) {
  const counter = ctx.env.counter;
  stats.ticks++;
  try {
    counter.send({ type: "inc" });
    stats.sent++;
  } catch (e) {
    failed(e); // NoConnectionError while node b is lost: fails at once
  }
  if (stats.ticks % 5 !== 0 && stats.watching) return;
  try {
    stats.value = await counter.call({ type: "get" }, CALL);
    stats.calls++;
  } catch (e) {
    failed(e);
    return;
  }
  if (!stats.watching) {
    // The counter answers: node b is up (again). Watch its incarnation.
    counterRef = counter.monitor();
    counter.link();
    stats.watching = true;
    note("watch");
  }
  await job(ctx, stats.ticks);
}

// job spawns a worker on node c, lends it the counter for one call, takes
// the loan back, and checks that the worker can no longer use it.
async function job(ctx, n) {
  let w;
  try {
    w = await ctx.env.pool.spawn({});
    w.monitor(); // its down (reason "normal") comes after "stop"
    const { cap, revoke } = ctx.revocable(ctx.env.counter.attenuate(["send"]));
    const square = await w.call({ type: "square", n, counter: cap }, CALL);
    if (square === n * n) stats.jobs++;
    revoke();
    if ((await w.call({ type: "again" }, CALL)) === "CapabilityError") stats.revoked++;
    w.send({ type: "stop" });
  } catch (e) {
    failed(e);
    if (w) w.kill();
  }
}

async function report(ctx) {
  let counter = null;
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
