package isolate_test

import (
	"testing"

	"github.com/cloister-rt/cloister/isolate"
)

// ctxShapeJS reports what a script can see of ctx's shape, reading
// property probe first, so that each property can be the first one made.
const ctxShapeJS = `
export function receive(msg, ctx) {
  const first = ctx[msg.probe];
  const keys = Reflect.ownKeys(ctx).map(String).join(",");
  const descs = Object.entries(Object.getOwnPropertyDescriptors(ctx)).map(([k, d]) =>
    k + ":" + [d.writable, d.enumerable, d.configurable, typeof d.value].join("/")).join(",");
  const tag = Object.getOwnPropertyDescriptor(ctx, Symbol.toStringTag);
  let setThrew = false;
  try { ctx.self = null; } catch (e) { setThrew = e instanceof TypeError; }
  let addThrew = false;
  try { ctx.extra = 1; } catch (e) { addThrew = e instanceof TypeError; }
  let delThrew = false;
  try { delete ctx.stop; } catch (e) { delThrew = e instanceof TypeError; }
  return [typeof first, keys, descs, String(ctx), tag.writable, tag.enumerable, tag.configurable,
    Object.isFrozen(ctx), Object.isExtensible(ctx), Object.getPrototypeOf(ctx) === Object.prototype,
    setThrew, addThrew, delThrew, "extra" in ctx, typeof ctx.stop, ctx.self === ctx.self, ctx.env === ctx.env,
    Object.isFrozen(ctx.env), JSON.stringify(Object.keys(ctx.env))].join("|");
}`

// TestCtx_FrozenWhicheverPropertyIsReadFirst: ctx, whose properties are
// made when first read, looks to a script like the frozen object it was
// when it was built at once, whichever property the script reads first.
func TestCtx_FrozenWhicheverPropertyIsReadFirst(t *testing.T) {
	const keys = "trapExits,isNotification,deferReply,self,env,stop,sendAfter,cancelTimer,revocable,Symbol(Symbol.toStringTag)"
	want := "|" + keys + "|" +
		"trapExits:false/true/false/function,isNotification:false/true/false/function,deferReply:false/true/false/function," +
		"self:false/true/false/object,env:false/true/false/object,stop:false/true/false/function," +
		"sendAfter:false/true/false/function,cancelTimer:false/true/false/function,revocable:false/true/false/function" +
		"|[object Context]|false|false|false|true|false|true|true|true|true|false|function|true|true|true|[\"peer\"]"
	for _, probe := range []string{"self", "env", "stop", "trapExits", "revocable", "nothing"} {
		iso, _ := newIsolate(t, ctxShapeJS, isolate.Limits{})
		got := answer(t, turn(t, iso, map[string]any{"probe": probe}))
		typ := "function"
		switch probe {
		case "self", "env":
			typ = "object"
		case "nothing":
			typ = "undefined"
		}
		if got != typ+want {
			t.Errorf("reading %s first:\n got %v\nwant %v", probe, got, typ+want)
		}
	}
}
