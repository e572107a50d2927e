package actor

// Event is one lifecycle event on the node's stream; Node.Subscribe says
// how it is delivered. The node's log and the metrics are its consumers.
type Event interface{ event() }

// Started is an incarnation that has begun (its isolate exists; init runs next).
type Started struct {
	Path        string
	Incarnation uint64
}

// Crashed is a crash report, after the supervisor's decision.
type Crashed struct{ Crash *Crash }

// Stopped is a process that ended in order.
type Stopped struct {
	Path   string
	Reason string
}

// Denied is an operation refused for a missing or revoked right.
type Denied struct {
	Op   string
	Err  error
	Path string // the process refused, when a script asked
}

// LimitHit is a limit that refused something: a message (mailbox,
// outbox, message_bytes), a call (call_depth), a timer (timers) or a spawn
// (children, processes). Limits that end a turn (cpu, memory, stack) show
// as crashes instead.
type LimitHit struct {
	Path  string // the process that asked, or whose mailbox was full
	Limit string
	Err   error
}

// RootFailed is the root supervisor giving up; the node stops.
type RootFailed struct{ Crash *Crash }

func (Started) event()    {}
func (Crashed) event()    {}
func (Stopped) event()    {}
func (Denied) event()     {}
func (LimitHit) event()   {}
func (RootFailed) event() {}

// Log keys used by the node.
const (
	keyProcess     = "process"
	keyIncarnation = "incarnation"
	keySource      = "source"
	keyError       = "error"
	keyReason      = "reason"
)
