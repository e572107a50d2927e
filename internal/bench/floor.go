package bench

import (
	"errors"
	"runtime"

	"github.com/dop251/goja"
)

// The engine's floor: what goja itself retains per runtime, measured the
// way IdleJS measures an actor, so that the idle table can say what
// Cloister adds on top of the engine (docs/benchmarks.md).

// floorModule is counterJS as the isolate runs it, written by hand: a
// function returning the exports, with no host, guards or limits.
const floorModule = `(function () {
let count = 0;
function init(args) { count = args?.start ?? 0; }
function receive(msg) {
  if (msg.type === "inc") { count += msg.by ?? 1; return count; }
  if (msg.type === "get") return count;
}
return {__proto__: null, init, receive};
})`

var floorProg = goja.MustCompile("counter.js", floorModule, false)

// IdleGoja keeps count goja runtimes alive and returns the live bytes
// each retains: goja.New() alone when module is false; with module true,
// each has also run the counter module, its init and one message, as an
// idle counter actor has.
func IdleGoja(count int, module bool) (float64, error) {
	type kept struct {
		rt      *goja.Runtime
		receive goja.Callable
	}
	rts := make([]kept, count)
	before := liveBytes()
	for k := range rts {
		r := goja.New()
		rts[k].rt = r
		if !module {
			continue
		}
		w, err := r.RunProgram(floorProg)
		if err != nil {
			return 0, err
		}
		body, _ := goja.AssertFunction(w)
		exp, err := body(goja.Undefined())
		if err != nil {
			return 0, err
		}
		o := exp.(*goja.Object)
		init, ok1 := goja.AssertFunction(o.Get("init"))
		receive, ok2 := goja.AssertFunction(o.Get("receive"))
		if !ok1 || !ok2 {
			return 0, errors.New("the floor module exports no init or receive")
		}
		args := r.NewObject()
		_ = args.Set("start", 1)
		if _, err := init(goja.Undefined(), args); err != nil {
			return 0, err
		}
		msg := r.NewObject()
		_ = msg.Set("type", "get")
		if _, err := receive(goja.Undefined(), msg); err != nil {
			return 0, err
		}
		rts[k].receive = receive
	}
	after := liveBytes()
	runtime.KeepAlive(rts)
	return perActor(before, after, count), nil
}
