package actor

import (
	"errors"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

// A crash report outlives the incarnation it describes, ten of them per
// process: it must hold strings and bytes only. An error that kept an
// engine value (a thrown JS object, an exception) would keep the whole
// dead runtime reachable. detach copies an error into plain data.

// crashError is an error reduced to its text and the typed errors it was:
// errors.Is and errors.As see the same sentinels and *isolate.JSError as in
// the original.
type crashError struct {
	msg  string
	kind []error
}

func (e *crashError) Error() string   { return e.msg }
func (e *crashError) Unwrap() []error { return e.kind }

// crashKinds are the sentinels a crash's error is tested against.
var crashKinds = []error{
	isolate.ErrCPULimit, isolate.ErrMemoryLimit, isolate.ErrKilled, isolate.ErrStackOverflow,
	isolate.ErrNoReceive, isolate.ErrClosed, isolate.ErrNoProc, isolate.ErrCalleeCrashed,
	isolate.ErrMailboxFull, isolate.ErrCallTimeout, isolate.ErrCallDepth, isolate.ErrTooManyProcesses,
	isolate.ErrTooManyTimers, isolate.ErrTooManyMonitors, isolate.ErrTooManyNotifications,
	capability.ErrDenied, capability.ErrRevoked, ErrStartTimeout, errStartAborted, ErrTooManyChildren,
}

// detach returns err as plain data: its message, a copy of the JS error it
// carries (name, message, stack), the compile error, and the sentinels it is.
func detach(err error) error {
	if err == nil {
		return nil
	}
	d := &crashError{msg: err.Error()}
	var je *isolate.JSError
	if errors.As(err, &je) {
		c := *je
		d.kind = append(d.kind, &c)
	}
	var ce *isolate.CompileError
	if errors.As(err, &ce) {
		c := *ce
		d.kind = append(d.kind, &c)
	}
	var cr *Crash
	if errors.As(err, &cr) {
		d.kind = append(d.kind, cr) // already detached when it was made
	}
	for _, k := range crashKinds {
		if errors.Is(err, k) {
			d.kind = append(d.kind, k)
		}
	}
	return d
}
