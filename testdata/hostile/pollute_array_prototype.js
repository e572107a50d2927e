// Attack: pollute Array.prototype (indexed getters that fill holes,
// replaced push/map/join/iterator) and JSON, then send the victim arrays
// with holes. The victim's built-ins and count must not change.

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
