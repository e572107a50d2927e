package actor

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	proto "github.com/asynkron/protoactor-go/actor"
)

// Kind says whether a process runs a script or supervises others.
type Kind int

// Process kinds.
const (
	KindWorker Kind = iota
	KindSupervisor
)

func (k Kind) String() string {
	if k == KindSupervisor {
		return "supervisor"
	}
	return "worker"
}

// Status is where a process is in its life.
type Status int32

// Process statuses.
const (
	StatusStarting Status = iota
	StatusRunning
	StatusRestarting
	StatusStopping
	StatusStopped
	StatusFailed
)

func (s Status) String() string {
	return [...]string{"starting", "running", "restarting", "stopping", "stopped", "failed"}[s]
}

// Process is a supervised child slot: it outlives the incarnations that run
// in it, and it is what capabilities designate. The exported methods are
// safe for concurrent use.
type Process struct {
	node     *Node
	id       uint64
	name     string
	path     string
	kind     Kind
	spec     *ChildSpec // never changed once built; see Node.build
	parent   *Process
	children []*Process // in start order; guarded by mu (a template adds and removes)
	// The small fields are kept side by side: Process fills its 576-byte
	// size class, and a byte of padding more would cost 64 per process.
	dynamic    bool                           // started from a template by spawn
	abandoned  bool                           // a dynamic child whose init failed; only its supervisor's goroutine reads it
	owned      atomic.Bool                    // spawned linked to its spawner: temporary; see linkSpawned
	newCode    atomic.Pointer[isolate.Script] // code that replaced spec.Script; see codechange.go
	handledEnd uint64                         // the last incarnation whose end its supervisor acted on; supervisor's goroutine only
	alarm      alarmState                     // its storage alarm's failures, across incarnations; its actor's goroutine only (storage.go)
	storageUse atomic.Pointer[storageUse]     // what its storage holds as of the last commit, for operators (storage.go)

	pid         atomic.Pointer[proto.PID]
	liveIso     atomic.Pointer[isolate.Isolate] // the running incarnation's, for operators
	counted     atomic.Bool                     // counted as spawned for the node's start
	status      atomic.Int32
	incarnation atomic.Uint64
	restarts    atomic.Uint64
	signals     atomic.Int64 // exit signals from scripts not yet taken up, bounded like messages
	handled     atomic.Uint64
	heldSince   atomic.Int64 // unix nanoseconds; see TurnHeldSince
	busy        atomic.Int64 // nanoseconds its goroutine spent handling; see Busy
	cpuDone     atomic.Int64 // CPU nanoseconds of its ended incarnations' turns; see CPUTime

	pin atomic.Pointer[isolate.Pin] // the thread its mailbox runs on now; see dispatch.go

	// mb counts and limits what waits for the process; see mailbox.go.
	mb *mailbox.Mailbox
	// stash holds messages that arrived while a turn awaited a promise, and
	// those left when an incarnation crashed; the next turn takes them first.
	// Only the process's own actor goroutine touches it.
	stash mailbox.Queue[*deliver]

	grants   []isolate.Grant   // resolved at build time
	initArgs *mailbox.Envelope // a dynamic child's spawn arguments

	mu        sync.Mutex
	lastCrash []*Crash // newest last, at most maxCrashReports
	spawnSeq  uint64   // names dynamic children

	ready    atomic.Pointer[readyWait]     // set while the supervisor waits for init
	stopWait atomic.Pointer[chan struct{}] // set while the supervisor waits for a stop
	// stoppedPID is the incarnation's PID whose actor has stopped (see
	// stopAndWait).
	stoppedPID atomic.Pointer[proto.PID]
	startT     *time.Timer            // a supervisor's timer for its children's starts, reused; its goroutine only (awaitReady)
	endHint    atomic.Pointer[string] // why the running incarnation is being ended from outside

	lifeMu sync.Mutex
	life   life // see signals.go

	ops operatorState // operator stop/kill/restart; see operator.go
}

const maxCrashReports = 10

// TargetID implements capability.Target.
func (p *Process) TargetID() uint64 { return p.id }

// ID is the process's node-unique number.
func (p *Process) ID() uint64 { return p.id }

// Name is the child's name in its supervisor.
func (p *Process) Name() string { return p.name }

// Path is the names from the root joined by "/".
func (p *Process) Path() string { return p.path }

// Kind says whether the process is a worker or a supervisor.
func (p *Process) Kind() Kind { return p.kind }

// Status is the current status.
func (p *Process) Status() Status { return Status(p.status.Load()) }

// Incarnation counts the incarnations started in this slot, from 1.
func (p *Process) Incarnation() uint64 { return p.incarnation.Load() }

// Restarts counts restarts of this slot.
func (p *Process) Restarts() uint64 { return p.restarts.Load() }

// Handled counts messages whose turn has started.
func (p *Process) Handled() uint64 { return p.handled.Load() }

// Children returns the supervised children in start order.
func (p *Process) Children() []*Process {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Process(nil), p.children...)
}

// Dynamic reports whether the process was spawned from a template.
func (p *Process) Dynamic() bool { return p.dynamic }

// Script returns the path of the script a worker runs.
func (p *Process) Script() string {
	if s := p.code(); s != nil {
		return s.Path()
	}
	return ""
}

// Crashes returns the most recent crash reports, oldest first.
func (p *Process) Crashes() []*Crash {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Crash(nil), p.lastCrash...)
}

func (p *Process) recordCrash(c *Crash) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lastCrash) == maxCrashReports {
		copy(p.lastCrash, p.lastCrash[1:])
		p.lastCrash = p.lastCrash[:maxCrashReports-1]
	}
	p.lastCrash = append(p.lastCrash, c)
}

func (p *Process) setStatus(s Status) { p.status.Store(int32(s)) }

// tell puts a runtime message (reply, timer, timeout) in the process's
// mailbox. It carries no authority of its own: only the runtime builds them.
func (p *Process) tell(msg any) {
	if pid := p.pid.Load(); pid != nil {
		p.node.system.Root.Send(pid, msg)
	}
}

// deliver is a script message in a mailbox. call is set for a call().
type deliver struct {
	env  *mailbox.Envelope
	from *Process // charged for the bytes while queued; nil from Go
	size int64
	call *callRef
	note *isolate.Notification // a runtime notification instead of a message
	// For a note: the incarnation it is for, and whether it is a script's
	// exit signal counted in Process.signals.
	noteInc uint64
	counted bool
	web     *webTurn // an HTTP request for the script's fetch, see fetch.go
	via     string   // from another node: the path a forwarded message is sent as (remote.go)
	parking bool     // from another node: a full mailbox parks it, and counts it if not (remote_flow.go)
	// From a script's worker, which reports a refusal at admission itself,
	// against its incarnation's budget (worker.signal); admit then only
	// marks refused.
	byScript, refused bool
}

// callRef says where the answer to a call goes.
type callRef struct {
	answer      func(*reply) // runs on the callee's goroutine; must not block
	incarnation uint64
	id          uint64
	depth       int // calls in the chain, this one included
}

// reply answers a call; stale replies (another incarnation) are dropped.
type reply struct {
	incarnation uint64
	id          uint64
	env         *mailbox.Envelope
	err         error
}

type timerFire struct {
	incarnation uint64
	id          uint64
}

type sendLater struct {
	incarnation uint64
	id          uint64
	target      *capability.Capability
	env         *mailbox.Envelope
}

type stopSelf struct{ incarnation uint64 }

// signal is the runtime's choke point for acting on another process: every
// send and call passes here with the capability it was made with, and
// nothing reaches the target unless the capability carries need. The JS
// host API checks first; this check holds even if that one were bypassed.
func (n *Node) signal(c *capability.Capability, need capability.Rights, op string, msg *deliver) error {
	if err := c.Check(need, op); err != nil {
		n.emit(Denied{Op: op, Err: err})
		return err
	}
	target, ok := c.Target().(*Process)
	if !ok || target.node != n {
		if rp := remoteOf(c); rp != nil && n.remote != nil {
			return n.remote.deliver(rp, c, op, msg)
		}
		return isolate.ErrNoProc
	}
	switch target.Status() {
	case StatusStopped, StatusFailed, StatusStopping:
		return isolate.ErrNoProc
	}
	if target.kind != KindWorker {
		return isolate.ErrNoProc
	}
	pid := target.pid.Load()
	if pid == nil {
		return isolate.ErrNoProc
	}
	if err := target.admit(msg); err != nil {
		return err
	}
	n.system.Root.Send(pid, msg)
	return nil
}

// Crash is a crash report: which incarnation of which process ended
// abnormally, why, and with which message.
type Crash struct {
	Path        string
	Incarnation uint64
	Reason      string // error, cpu_limit, exit:<reason>, ...
	Err         error
	Stack       string // the JS stack, mapped to the script's lines
	Message     []byte // msgpack of the message being handled, if any
	Time        time.Time
	Restarted   bool   // the supervisor decided to restart the process
	Action      string // what the supervisor did: restart, stop or escalate

	// MessageCaps are the capabilities Message refers to; see MessageEnvelope.
	MessageCaps []*capability.Capability
}

// What a supervisor does about a child's end.
const (
	ActionRestart  = "restart"
	ActionStop     = "stop"
	ActionEscalate = "escalate"
)

func (c *Crash) Error() string {
	path := c.Path
	if path == "" {
		path = "root"
	}
	if c.Err != nil {
		return path + ": " + c.Reason + ": " + c.Err.Error()
	}
	return path + ": " + c.Reason
}

// Unwrap returns the underlying error.
func (c *Crash) Unwrap() error { return c.Err }
