package isolate

import (
	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// Blank isolates are runtimes with the globals installed and bound to the
// guarded builtins (see template.go), but no script, host or limits: the part of
// New that does not depend on the process. A few wait ready in a pool, made
// on other goroutines, so a spawn or a restart only binds one to its
// process and runs the module. Each is used once; none is ever shared.

// blankPool holds the ready blank isolates.
var blankPool = make(chan *Isolate, 4)

// takeBlank returns a ready blank isolate, or makes one now, and starts
// making its replacement.
func takeBlank() (*Isolate, error) {
	go refillBlank()
	select {
	case i := <-blankPool:
		return i, nil
	default:
		return newBlank()
	}
}

// refillBlank adds one blank isolate to the pool if it has room.
func refillBlank() {
	if len(blankPool) == cap(blankPool) {
		return
	}
	i, err := newBlank()
	if err != nil {
		return
	}
	select {
	case blankPool <- i:
	default:
	}
}

// noSourceMaps is every runtime's parser options: one slice, which goja
// only reads, instead of one per isolate.
var noSourceMaps = []parser.Option{parser.WithDisableSourceMaps}

func newBlank() (*Isolate, error) {
	i := &Isolate{rt: goja.New()}
	// goja's default loader would read a file named in a sourceMappingURL
	// comment of eval'd code.
	i.rt.SetParserOptions(noSourceMaps...)
	if templateErr != nil {
		return nil, templateErr
	}
	useIsolateGlobal(i.rt)
	i.lim = newLimiter(i)
	// The host's own setup is not the script's time: only the module body
	// runs under the CPU limit.
	err := protect(func() error {
		if err := i.installBuiltins(); err != nil {
			return err
		}
		return i.installGlobals()
	})
	if err != nil {
		return nil, err
	}
	return i, nil
}

// addCall records a call awaiting its settlement; the map is made with
// the first, as most isolates never call.
func (i *Isolate) addCall(id uint64, c pendingCall) {
	if i.calls == nil {
		i.calls = make(map[uint64]pendingCall)
	}
	i.calls[id] = c
}

// addTimer records a pending setTimeout; the map is made with the first.
func (i *Isolate) addTimer(id uint64, t timer) {
	if i.timers == nil {
		i.timers = make(map[uint64]timer)
	}
	i.timers[id] = t
}
