// Attack, in TypeScript: type assertions and declarations that claim a
// handle has more rights. Types are erased; the checks are at run time.

// Each attempt is reported as "ok:<what it returned>" or "<error name>: <message>".
function describe(v) {
  if (v === undefined) return "undefined";
  if (typeof v === "object" && v !== null && String(v) === "[object Capability]") return "capability(" + v.rights + ")";
  if (v instanceof Uint8Array) return "Uint8Array(" + Array.from(v).join(",") + ")";
  if (typeof v === "function") return "function";
  return typeof v + ":" + JSON.stringify(v);
}
function attempt(f) {
  try { return "ok:" + describe(f()); } catch (e) { return e.name + ": " + e.message; }
}
async function attemptAsync(f) {
  try { return "ok:" + describe(await f()); } catch (e) { return e.name + ": " + e.message; }
}
// flat copies a third party's report into ours under prefix.
function flat(out, prefix, r) {
  for (const k of Object.keys(r)) out[prefix + "." + k] = r[k];
  return out;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

interface AllRights { kill(): void; exit(r: string): void; rights: string[] }
interface Ctx { self: AllRights; env: Record<string, unknown>; sendAfter(c: unknown, m: unknown, ms: number): number }

export function receive(_msg: unknown, ctx: Ctx): Record<string, string> {
  const v = ctx.env.victim as unknown as AllRights;
  const forged = { kill() {}, exit() {}, rights: ["kill"] } satisfies AllRights;
  return {
    kill: attempt(() => v.kill()),
    exit: attempt(() => v.exit("kill")),
    rights: attempt(() => v.rights),
    forgedSendAfter: attempt(() => ctx.sendAfter(forged, { mark: "forbidden" }, 0)),
    anyCast: attempt(() => (ctx.env.watch as any).send({ mark: "forbidden-any" })),
  };
}
