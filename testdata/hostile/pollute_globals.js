// Attack: replace the global constructors the message decoder and the
// runtime use (Date, Uint8Array, Object, Promise, Error, JSON) and send
// the victim Dates and bytes. The replacements exist only in this isolate.

export async function receive(msg, ctx) {
  const v = ctx.env.victim;
  const out = {};
  const RealDate = Date;
  const day = new RealDate(86400000);
  const bytes = new Uint8Array([1, 2, 3]);
  globalThis.Date = function () { return { hijacked: true }; };
  globalThis.Uint8Array = function () { return ctx.self; };
  globalThis.Object = function () { return ctx.self; };
  globalThis.Error = function () { return ctx.self; };
  globalThis.Promise = function () { throw new TypeError("hijacked"); };
  out.send = attempt(() => v.send({ mark: "allowed-globals", day, bytes }));
  out.thirdPartyDate = await attemptAsync(async () => (await ctx.env.accomplice.call({ type: "inspect", value: { day } })).day);
  // The reply is decoded here, with this isolate's replaced Uint8Array: only the attacker is refused.
  out.echoHere = await attemptAsync(() => ctx.env.accomplice.call({ type: "echo", bytes }));
  return out;
}
