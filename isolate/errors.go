package isolate

import (
	"errors"
	"fmt"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
)

// ErrCPULimit is the reason of a turn interrupted for running past its CPU limit.
var ErrCPULimit = errors.New("cpu_limit")

// ErrMemoryLimit is the reason of a turn ended because the isolate would
// hold more heap than its memory limit (see limits.go).
var ErrMemoryLimit = errors.New("memory_limit")

// ErrNoReceive is returned for a script that does not export a receive function.
var ErrNoReceive = errors.New("script does not export a receive function")

// ErrClosed is returned by calls on an isolate after Close.
var ErrClosed = errors.New("isolate closed")

// CompileError is a script that failed to compile: file, 1-based line and
// column when known, and the parser's message.
type CompileError struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *CompileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ErrKilled is the reason of a turn ended from outside: an operator's kill,
// or a stop whose shutdown time ran out (see Isolate.Abort).
var ErrKilled = errors.New("killed")

// ErrStackOverflow is what a JSError for a script that went past its call
// depth limit wraps.
var ErrStackOverflow = errors.New("maximum call stack size exceeded")

// JSError is an uncaught JavaScript exception: the thrown value's string
// form, its name and the stack, mapped to the script's source lines. It
// holds only strings, never an engine value, so a crash report that keeps
// it does not keep the dead incarnation's runtime alive.
type JSError struct {
	Name    string // the thrown error's name ("TypeError"), or "" for a non-error value
	Message string // "Name: message", as the script would print it
	Stack   string
	kind    error // a sentinel of this package the error also is, or nil
}

func (e *JSError) Error() string { return e.Message }

// Unwrap returns the sentinel the error also is (ErrStackOverflow), or nil.
func (e *JSError) Unwrap() error { return e.kind }

// PanicError is a Go panic raised while the isolate was running, recovered
// so that it ends only this incarnation. Value is the panic's description,
// or the limit that ended the turn; never an engine value.
type PanicError struct{ Value any }

func (e *PanicError) Error() string { return fmt.Sprintf("host panic: %v", e.Value) }

// Errors a host reports for calls and sends; each becomes a JS error whose
// name says which (see callErrorName).
var (
	// ErrCallTimeout rejects a call() whose reply did not come in time.
	ErrCallTimeout = errors.New("call timed out")
	// ErrCalleeCrashed rejects a call() whose callee crashed handling it.
	ErrCalleeCrashed = errors.New("callee crashed")
	// ErrNoProc is a send or call to a process that has ended.
	ErrNoProc = errors.New("noproc: the process has ended")
	// ErrMailboxFull is a send refused by the target's mailbox limit. It is
	// mailbox.ErrMailboxFull, named here for the host API's callers.
	ErrMailboxFull = mailbox.ErrMailboxFull
	// ErrNoConnection is an operation on a process of another node that
	// cannot be reached: the node is down, or was lost while the
	// operation waited. Monitors and links of its processes fire with
	// the reason "noconnection".
	ErrNoConnection = errors.New("noconnection: the node is not reachable")
	// ErrClusterLimit is an operation across nodes refused by a bound on
	// the host's tables: exported capabilities, monitors and links with
	// another node, requests awaiting another node's answer.
	ErrClusterLimit = errors.New("cluster limit")
)

// callErrorName is the JS error name an error from the host is thrown as.
func callErrorName(err error) string {
	var ce *CloneError
	switch {
	case errors.Is(err, ErrCallTimeout):
		return "TimeoutError"
	case errors.Is(err, ErrCalleeCrashed), errors.Is(err, ErrCallFailed):
		return "CallError"
	case errors.Is(err, ErrNoConnection):
		return "NoConnectionError"
	case errors.Is(err, ErrNoProc):
		return "NoProcError"
	case errors.Is(err, ErrTooManyTimers), errors.Is(err, ErrCallDepth), errors.Is(err, ErrTooManyProcesses),
		errors.Is(err, ErrTooManyMonitors), errors.Is(err, ErrTooManyNotifications), errors.Is(err, ErrTooManyDeferred),
		errors.Is(err, ErrClusterLimit):
		return "RangeError"
	case errors.Is(err, ErrMailboxFull):
		return "MailboxFull"
	case errors.Is(err, capability.ErrDenied):
		return "CapabilityError"
	case errors.As(err, &ce):
		return "DataCloneError"
	}
	return "Error"
}

// ErrCallDepth is a call made from a turn that is already that many calls
// deep in a chain of calls: a recursion across actors.
var ErrCallDepth = errors.New("call depth limit")

// ErrTooManyProcesses is a spawn past a supervisor's children limit or the
// node's process limit.
var ErrTooManyProcesses = errors.New("too many processes")

// ErrTooManyTimers is a setTimeout or sendAfter past the process's timer limit.
var ErrTooManyTimers = errors.New("too many timers")

// ErrTooManyMonitors is a monitor() past the number of monitors one
// incarnation may hold at once (MaxMonitors).
var ErrTooManyMonitors = errors.New("too many monitors")

// ErrTooManyNotifications is a monitor() or link() whose notification
// would be queued while the process already has its mailbox's worth of
// notifications waiting.
var ErrTooManyNotifications = errors.New("too many notifications waiting")
