// Attack, in TypeScript: type assertions and declarations that claim a
// handle has more rights. Types are erased; the checks are at run time.

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
