// Attack: tamper with Function.prototype (call, apply, bind, toString) and
// with the host methods' own properties, then use the host methods: the
// checks must not depend on anything a script can replace.

export function receive(msg, ctx) {
  const v = ctx.env.victim;
  const out = {};
  const kill = ctx.self.kill;
  out.addProp = attempt(() => { v.send.granted = ["kill"]; return v.send.granted; });
  out.rename = attempt(() => { v.send.name = "kill"; return v.send.name; });
  out.caller = attempt(() => v.send.caller);
  Function.prototype.call = function () { return "hijacked call"; };
  Function.prototype.apply = function () { return "hijacked apply"; };
  Function.prototype.bind = function () { return () => "hijacked bind"; };
  out.killAfterTamper = attempt(() => v.kill());
  out.sendAfterTamper = attempt(() => v.send({ mark: "allowed-after-tamper" }));
  out.sendAfterRefused = attempt(() => ctx.sendAfter(ctx.env.watch, { mark: "forbidden-after-tamper" }, 0));
  out.reflectKill = attempt(() => Reflect.apply(kill, v, []));
  out.sameMethod = attempt(() => v.send === ctx.self.send);
  return out;
}
