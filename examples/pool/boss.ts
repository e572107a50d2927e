// Spawns a worker per job, monitors it, and records how each one ended.
import type { Capability, Context, Notification } from "../cloister";

type Result = { job: number; square?: number; error?: string };
type WorkerMsg = { type: "square"; n: number };
type Msg = { type: "run"; jobs: number[] } | { type: "report" };
type Env = { pool: Capability };

const results: Result[] = [];
const endings: Record<string, number> = {};

export async function receive(msg: Msg | Notification, ctx: Context<Env>) {
  if (ctx.isNotification(msg)) {
    if (msg.type === "down") endings[msg.reason] = (endings[msg.reason] ?? 0) + 1;
    return;
  }
  switch (msg.type) {
    case "run": {
      const jobs: Promise<void>[] = [];
      for (let job = 0; job < msg.jobs.length; job++) {
        const w = await ctx.env.pool.spawn<WorkerMsg, Result>({ job });
        w.monitor();
        jobs.push(
          w.call({ type: "square", n: msg.jobs[job] }).then(
            (r) => { results.push(r); },
            (e: Error) => { results.push({ job, error: e.name }); },
          ),
        );
      }
      await Promise.all(jobs);
      return results.length;
    }
    case "report":
      return { results: results.slice().sort((a, b) => a.job - b.job), endings };
  }
}
