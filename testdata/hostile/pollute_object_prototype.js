// Attack: pollute Object.prototype (a "type" getter that answers "inc",
// a replaced toString and hasOwnProperty, an enumerable property) and send
// the victim messages built to profit from it, including an own
// "__proto__" key and objects with a null prototype. Globals are per
// isolate, so the victim's count and built-ins must not change.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  const out = {};
  Object.defineProperty(Object.prototype, "type", { get() { return "inc"; }, configurable: true });
  Object.defineProperty(Object.prototype, "by", { value: 1000000, enumerable: true, configurable: true, writable: true });
  Object.prototype.polluted = true;
  Object.prototype.toString = () => "[object Capability]";
  Object.prototype.hasOwnProperty = () => true;
  out.local = attempt(() => ({}).type + "," + ({}).polluted);
  out.plain = attempt(() => v.send({ mark: "allowed-plain" }));
  out.ownProto = attempt(() => v.send(JSON.parse('{"mark": "allowed-own-proto", "__proto__": {"type": "inc", "polluted": true}}')));
  out.nullProto = attempt(() => v.send(Object.assign(Object.create(null), { mark: "allowed-null-proto" })));
  out.classInstance = attempt(() => v.send(new (class { constructor() { this.mark = "allowed-class"; } get type() { return "inc"; } })()));
  out.fakeHandleString = attempt(() => ctx.sendAfter({ send() {} }, {}, 0));
  return out;
}
