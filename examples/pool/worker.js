// A one-job worker: squares what it is asked, then ends normally.
let job = 0;

export function init(args) {
  job = args.job;
}

export function receive(msg, ctx) {
  if (msg.type === "square") {
    ctx.stop();
    if (msg.n === 13) throw new Error("unlucky number");
    return { job, square: msg.n * msg.n };
  }
}
