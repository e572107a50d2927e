// Attack: one message within every limit (under 1 MiB, under the receiver
// heap estimate) that is as expensive as possible to decode: about 110000
// empty arrays. The attacker, given a generous CPU limit by its operator,
// builds and encodes it; the victim, with the default 50ms, must not be
// charged for decoding it.

export function receive(msg, ctx) {
  const list = [];
  for (let i = 0; i < 110000; i++) list.push([]);
  return { send: attempt(() => ctx.env.victim.send({ mark: "allowed-expensive", list })) };
}
