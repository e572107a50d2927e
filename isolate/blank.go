package isolate

import (
	"sync/atomic"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// Blank isolates are runtimes with the globals installed and bound to the
// guarded builtins (see template.go), but no script, host or limits: the part of
// New that does not depend on the process. A few wait ready in a pool, made
// on other goroutines, so a spawn or a restart only binds one to its
// process and runs the module. Each is used once; none is ever shared.

// blankPool holds the ready blank isolates.
var blankPool = make(chan *Isolate, 16)

// takeBlank returns a ready blank isolate, or makes one now, and has the
// pool refilled.
func takeBlank() (*Isolate, error) {
	if refilling.CompareAndSwap(false, true) {
		go refillBlanks()
	}
	select {
	case i := <-blankPool:
		return i, nil
	default:
		return newBlank()
	}
}

// refilling is set while a goroutine refills the pool: one at a time, so
// that a burst of spawns starts one goroutine, not one per spawn.
var refilling atomic.Bool

// refillBlanks fills the pool, then ends; a take after its last look
// finds refilling clear and starts another.
func refillBlanks() {
	for {
		for len(blankPool) < cap(blankPool) {
			i, err := newBlank()
			if err != nil {
				refilling.Store(false)
				return // New reports the error when it makes its own
			}
			select {
			case blankPool <- i:
			default:
			}
		}
		refilling.Store(false)
		// A take between the last look and the store started nobody.
		if len(blankPool) == cap(blankPool) || !refilling.CompareAndSwap(false, true) {
			return
		}
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
