// Attack: pollute Array.prototype (indexed getters that fill holes,
// replaced push/map/join/iterator) and JSON, then send the victim arrays
// with holes. The victim's built-ins and count must not change.

const stringify = JSON.stringify;
export function receive(msg, ctx) {
  const v = ctx.env.victim;
  const out = {};
  Object.defineProperty(Array.prototype, 0, { get() { return "inc"; }, configurable: true });
  Array.prototype.polluted = true;
  Array.prototype.push = function () { return -1; };
  Array.prototype.map = function () { return ["hijacked"]; };
  Array.prototype.join = function () { return "hijacked"; };
  Array.prototype[Symbol.iterator] = function* () { yield "hijacked"; };
  JSON.stringify = () => '"hijacked"';
  out.local = attempt(() => stringify([, 1]));
  out.holes = attempt(() => v.send({ mark: "allowed-holes", list: [, , "x"] }));
  out.attenuateHole = attempt(() => v.attenuate(new Array(1)).rights.length);
  return out;
}
