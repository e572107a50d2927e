package actor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/storage"

	proto "github.com/asynkron/protoactor-go/actor"
)

// ErrRootFailed is returned by Wait when the root supervisor gave up.
var ErrRootFailed = errors.New("root supervisor failed")

// ErrStarted is returned by Start on a node that has already started.
var ErrStarted = errors.New("node already started")

// Options configure a node.
type Options struct {
	// Logger receives the node's structured log; nil discards it.
	Logger *slog.Logger
	// Limits are the defaults for every worker; zero fields take
	// isolate's defaults.
	Limits isolate.Limits
	// Mailbox is the default mailbox limits; zero fields take mailbox's
	// defaults.
	Mailbox mailbox.Limits
	// MaxProcesses bounds the processes alive on the node, supervisors
	// included; 0 means DefaultMaxProcesses.
	MaxProcesses int
	// MaxCallDepth bounds a chain of calls, each made from the turn that
	// handles the previous one; 0 means DefaultMaxCallDepth.
	MaxCallDepth int
	// Receivers are the Go actors a ChildSpec can name in its Go field,
	// by name: each incarnation gets a fresh Receiver from its factory.
	// See Receiver.
	Receivers map[string]func() Receiver
	// TurnWarning is how long a turn may hold its process's mailbox,
	// awaiting a promise, before the node emits TurnHeld and logs a
	// warning; 0 means DefaultTurnWarning, a negative value never warns.
	TurnWarning time.Duration
	// Reload, when set, is asked for the current code of a worker's
	// script when an operator restarts it (Node.Restart): it returns the
	// script compiled from its file as the file is now. An error fails the
	// restart, and the old code keeps running. Without it a restart runs
	// the code the slot has (see Node.CodeChange).
	Reload func(*isolate.Script) (*isolate.Script, error)
	// GCPercent, when positive, is the garbage collector's target (as
	// GOGC) that NewNode sets for the whole process; 0 or a negative value
	// leaves the runtime's setting (GOGC's, or Go's default) alone, so a
	// program that embeds a node keeps its own. `cloister run` sets
	// DefaultGCPercent unless GOGC is set. GOMEMLIMIT, if set, still
	// bounds the heap.
	GCPercent int
	// MemoryLimit, when positive, is the soft memory limit in bytes (as
	// GOMEMLIMIT) that NewNode sets for the process; 0 leaves the
	// runtime's (GOMEMLIMIT's, or none).
	MemoryLimit int64
	// PretouchHeap, when positive, is how many bytes of heap NewNode
	// faults in for the process before the node starts, as the JVM's
	// AlwaysPreTouch does: the first actors spawned then take pages that
	// are already resident instead of one page fault each (see "Pre-touching
	// the heap" in docs/benchmarks.md). It is process-wide and done once:
	// the first node made with a positive value decides, later ones change
	// nothing. The pages stay resident only if the process started with
	// GODEBUG=madvdontneed=0 (the runtime reads it only at start); without
	// it Go's scavenger hands most of them back and NewNode logs a warning.
	// NewNode refuses more than the soft memory limit or half the machine's
	// memory. The cost is CPU at start and resident memory from then on.
	PretouchHeap int64
	// Storage is the backend of the workers granted storage; the node
	// does not close it. nil refuses to start such workers.
	Storage storage.Backend
	// Cluster, when set, joins the node to a cluster: it carries frames
	// to the other nodes (see package cluster), and the node starts only
	// the children placed on it (ChildSpec.Node). Capabilities then reach
	// processes on other nodes.
	Cluster wire.Transport
}

// Node-wide limits.
const (
	DefaultMaxProcesses = 1_000_000
	DefaultMaxCallDepth = 64
)

// Node runs one process tree. Start it with a root spec, stop it with
// Shutdown; Wait returns when it has stopped. Safe for concurrent use.
type Node struct {
	log      *slog.Logger
	limits   isolate.Limits
	mailbox  mailbox.Limits
	dispatch *dispatcher

	maxProcesses int
	maxCallDepth int
	turnWarning  time.Duration
	reload       func(*isolate.Script) (*isolate.Script, error)
	system       *proto.ActorSystem
	receivers    map[string]func() Receiver // Go actors by name, fixed at NewNode
	storage      storage.Backend
	remote       *remote // nil unless clustered; see remote.go

	lifecycle sync.Mutex // guards dispatch and stopping between Start and Shutdown
	stopping  bool
	closing   atomic.Bool             // stopping, for a supervisor's goroutine: set once, never cleared
	closed    chan struct{}           // closed as closing is set: ends the waits for a child's init
	root      atomic.Pointer[Process] // set once, under lifecycle; read anywhere

	nextID  atomic.Uint64
	nextRef atomic.Uint64 // monitor references
	regMu   sync.RWMutex  // guards byPath and byID: templates add and remove
	byPath  map[string]*Process
	byID    map[uint64]*Process

	subMu     sync.Mutex                      // guards changes to subs and subsEnded; emit takes no lock
	subs      atomic.Pointer[[]*Subscription] // copy on write
	subsEnded bool                            // the node has shut down: no new subscriber starts
	logSub    *Subscription                   // the node's own log; Shutdown waits for it to drain
	logDrops  uint64                          // drops of logSub already logged; only its goroutine uses it

	observer atomic.Pointer[observerRef] // see observer.go

	unspawned    atomic.Int64  // processes whose actor does not exist yet
	spawned      chan struct{} // closed when every process has been spawned
	startOnce    sync.Once
	shutdownOnce sync.Once
	failOnce     sync.Once
	failure      *Crash
	startErr     error
	startOnceErr sync.Once
	startBroken  chan struct{} // closed when a child could not start
	done         chan struct{}
	failed       chan struct{}
}

// NewNode returns a node that has not started.
func NewNode(opts Options) (*Node, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	quiet := slog.New(slog.DiscardHandler) // protoactor's own log lines are not formatted at all
	n := &Node{
		log:         log,
		limits:      opts.Limits.WithDefaults(),
		storage:     opts.Storage,
		mailbox:     opts.Mailbox.WithDefaults(mailbox.Limits{}),
		system:      proto.NewActorSystem(proto.WithLoggerFactory(func(*proto.ActorSystem) *slog.Logger { return quiet })),
		byPath:      make(map[string]*Process),
		byID:        make(map[uint64]*Process),
		done:        make(chan struct{}),
		spawned:     make(chan struct{}),
		startBroken: make(chan struct{}),
		failed:      make(chan struct{}),
		closed:      make(chan struct{}),
	}
	shrinkRegistry(n.system)
	n.maxProcesses, n.maxCallDepth = opts.MaxProcesses, opts.MaxCallDepth
	n.turnWarning = opts.TurnWarning
	n.reload = opts.Reload
	applyGC(opts.GCPercent)
	applyMemoryLimit(opts.MemoryLimit)
	if err := applyPretouch(opts.PretouchHeap, log); err != nil {
		return nil, err
	}
	if n.turnWarning == 0 {
		n.turnWarning = DefaultTurnWarning
	}
	if opts.Cluster != nil {
		n.remote = newRemote(n, opts.Cluster)
	}
	if err := n.setReceivers(opts.Receivers); err != nil {
		return nil, err
	}
	if n.maxProcesses <= 0 {
		n.maxProcesses = DefaultMaxProcesses
	}
	if n.maxCallDepth <= 0 {
		n.maxCallDepth = DefaultMaxCallDepth
	}
	return n, nil
}

// Start builds the tree declared by root, resolves every grant, and starts
// it: children start in order. It returns once every process has been
// spawned, so messages sent from then on are queued; init may still be
// running. The node keeps root's specs: the caller must not change them
// (or the slices they hold) afterwards.
func (n *Node) Start(root ChildSpec) error {
	err := ErrStarted
	n.startOnce.Do(func() {
		err = n.start(root)
	})
	return err
}

func (n *Node) start(root ChildSpec) error {
	if !root.IsSupervisor() {
		return fmt.Errorf("start: the root %q must be a supervisor", root.Name)
	}
	root, err := n.place(root)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	r, err := n.build(&root, nil)
	if err != nil {
		return err
	}
	if err := n.resolveGrants(r); err != nil {
		return err
	}
	n.subscribe(n.logEvent, true)
	n.lifecycle.Lock()
	if n.stopping {
		n.lifecycle.Unlock()
		return fmt.Errorf("start: %w", errShutdownInStart)
	}
	n.root.Store(r)
	n.dispatch = newDispatcher()
	pid, err := n.system.Root.SpawnNamed(n.props(r), "cloister")
	if err != nil {
		n.dispatch.stop()
		n.lifecycle.Unlock()
		return fmt.Errorf("start: %w", err)
	}
	r.pid.Store(pid)
	n.lifecycle.Unlock()
	select {
	case <-n.spawned:
		return nil
	case <-n.startBroken:
		_ = n.Shutdown(context.Background())
		<-n.done
		return fmt.Errorf("start: %w", n.startErr)
	case <-n.failed:
		return fmt.Errorf("start: %w", n.failure)
	case <-time.After(time.Minute):
		return errors.New("start: the tree did not spawn within a minute")
	}
}

// markSpawned counts a process whose actor exists; the last closes spawned.
func (n *Node) markSpawned() {
	if n.unspawned.Add(-1) == 0 {
		close(n.spawned)
	}
}

// build makes the processes of spec and its children. A process keeps spec
// by reference: specs are never changed once built, and a child's is the
// element of its parent's Children.
func (n *Node) build(spec *ChildSpec, parent *Process) (*Process, error) {
	p := &Process{node: n, id: n.nextID.Add(1), name: spec.Name, spec: spec, parent: parent}
	n.unspawned.Add(1)
	switch {
	case parent == nil:
		p.path = ""
	case parent.path == "":
		p.path = spec.Name
	default:
		p.path = parent.path + "/" + spec.Name
	}
	p.mb = mailbox.New(p.path, spec.Mailbox.WithDefaults(n.mailbox))
	if spec.IsSupervisor() {
		p.kind = KindSupervisor
		if spec.StartTimeout != 0 {
			return nil, fmt.Errorf("supervisor %q: a start timeout belongs to workers (a supervisor is up once its children are)", p.path)
		}
		if spec.Go != "" {
			return nil, fmt.Errorf("supervisor %q: a supervisor runs no Go receiver", p.path)
		}
		seen := make(map[string]bool)
		for k := range spec.Children {
			cs := &spec.Children[k]
			if cs.Name == "" || strings.Contains(cs.Name, "/") {
				return nil, fmt.Errorf("child of %q: invalid name %q", p.path, cs.Name)
			}
			if seen[cs.Name] {
				return nil, fmt.Errorf("child of %q: duplicate name %q", p.path, cs.Name)
			}
			seen[cs.Name] = true
			ch, err := n.build(cs, p)
			if err != nil {
				return nil, err
			}
			p.children = append(p.children, ch)
		}
		if t := spec.Template; t != nil {
			switch {
			case len(spec.Children) > 0:
				return nil, fmt.Errorf("supervisor %q: a template and children exclude each other", p.path)
			case t.IsSupervisor() || t.Template != nil:
				return nil, fmt.Errorf("supervisor %q: the template must be a worker", p.path)
			}
			if err := n.checkCode(*t); err != nil {
				return nil, fmt.Errorf("supervisor %q: template: %w", p.path, err)
			}
		}
	} else if err := n.checkCode(*spec); err != nil {
		return nil, fmt.Errorf("process %q: %w", p.path, err)
	}
	if err := n.register(p); err != nil {
		return nil, fmt.Errorf("process %q: %w", p.path, err)
	}
	return p, nil
}

func (n *Node) resolveGrants(p *Process) error {
	for _, g := range p.spec.Grants {
		if g.Target != nil {
			p.grants = append(p.grants, isolate.Grant{Name: g.Name, Cap: capability.New(g.Target, g.Rights)})
			continue
		}
		to, ok := n.grantTarget(g.To, p.path)
		if !ok {
			return fmt.Errorf("process %q: grant %q: no process at %q", p.path, g.Name, g.To)
		}
		p.grants = append(p.grants, isolate.Grant{Name: g.Name, Cap: capability.New(to, g.Rights)})
	}
	for _, ch := range p.children {
		if err := n.resolveGrants(ch); err != nil {
			return err
		}
	}
	return nil
}

// props are how every process's actor is made and run.
func (n *Node) props(p *Process) *proto.Props {
	return proto.PropsFromProducer(func() proto.Actor { return n.producer(p) }, proto.WithDispatcher(n.dispatch.forProcess(p)))
}

func (n *Node) producer(p *Process) proto.Actor {
	if p.kind == KindSupervisor {
		return newGroup(p)
	}
	if p.spec.Go != "" {
		return newGoWorker(p)
	}
	return newWorker(p)
}

func (n *Node) limitsFor(l isolate.Limits) isolate.Limits {
	if l.CPU <= 0 {
		l.CPU = n.limits.CPU
	}
	if l.Stack <= 0 {
		l.Stack = n.limits.Stack
	}
	if l.MessageBytes <= 0 {
		l.MessageBytes = n.limits.MessageBytes
	}
	if l.Timers <= 0 {
		l.Timers = n.limits.Timers
	}
	if l.Memory <= 0 {
		l.Memory = n.limits.Memory
	}
	return l
}

// Root returns the root supervisor, or nil before Start.
// Safe for concurrent use, also while Start runs.
func (n *Node) Root() *Process { return n.root.Load() }

// Lookup returns the process at path ("" is the root).
func (n *Node) Lookup(path string) (*Process, bool) {
	n.regMu.RLock()
	defer n.regMu.RUnlock()
	p, ok := n.byPath[path]
	return p, ok
}

// Process returns the process with the given id.
func (n *Node) Process(id uint64) (*Process, bool) {
	n.regMu.RLock()
	defer n.regMu.RUnlock()
	p, ok := n.byID[id]
	return p, ok
}

func (n *Node) register(p *Process) error {
	n.regMu.Lock()
	if len(n.byID) >= n.maxProcesses {
		n.regMu.Unlock()
		err := fmt.Errorf("%w: the node's limit is %d", isolate.ErrTooManyProcesses, n.maxProcesses)
		n.emit(LimitHit{Path: p.path, Limit: "processes", Err: err}) // subscribers may Lookup
		return err
	}
	n.byPath[p.path] = p
	n.byID[p.id] = p
	n.regMu.Unlock()
	return nil
}

func (n *Node) unregister(p *Process) {
	n.regMu.Lock()
	defer n.regMu.Unlock()
	if n.byPath[p.path] == p {
		delete(n.byPath, p.path)
	}
	delete(n.byID, p.id)
}

// Capability returns a capability with rights over the process at path,
// for embedding programs and tests: the operator holds all authority.
func (n *Node) Capability(path string, rights capability.Rights) (*capability.Capability, error) {
	p, ok := n.Lookup(path)
	if !ok {
		return nil, fmt.Errorf("no process at %q", path)
	}
	return capability.New(p, rights), nil
}

func (n *Node) fail(c *Crash) {
	n.failOnce.Do(func() {
		n.failure = c
		n.emit(RootFailed{Crash: c})
		close(n.failed)
		go func() { _ = n.Shutdown(context.Background()) }()
	})
}

// Failed is closed when the root supervisor gives up.
func (n *Node) Failed() <-chan struct{} { return n.failed }

// Shutdown stops the tree in order — children in reverse start order, each
// worker's terminate run — and then the actor system. Safe to call twice;
// it returns ctx's error if ctx ends first (the stop goes on).
func (n *Node) Shutdown(ctx context.Context) error {
	n.shutdownOnce.Do(func() {
		// After this, Start spawns nothing; a tree it spawned is stopped.
		n.lifecycle.Lock()
		n.stopping = true
		n.closing.Store(true)
		close(n.closed)
		root, dispatch := n.root.Load(), n.dispatch
		n.lifecycle.Unlock()
		if root != nil && n.starting() {
			// A shutdown during the first start aborts it: the child
			// being started finishes its init, no later one starts, and
			// Start returns errShutdownInStart.
			n.startFailed(errShutdownInStart)
		}
		go func() {
			defer close(n.done)
			if root != nil {
				if pid := root.pid.Load(); pid != nil {
					root.stopAndWait(func() { n.system.Root.Stop(pid) })
				}
			}
			n.system.Shutdown()
			if dispatch != nil {
				dispatch.stop()
			}
			n.endSubscriptions()
		}()
	})
	select {
	case <-n.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait blocks until the node has shut down. It returns an error wrapping
// ErrRootFailed and the root's crash if the root supervisor gave up.
func (n *Node) Wait() error {
	<-n.done
	select {
	case <-n.failed:
		return fmt.Errorf("%w: %w", ErrRootFailed, n.failure)
	default:
		return nil
	}
}

func (n *Node) logEvent(e Event) {
	// logSub was set before this goroutine started.
	if d := n.logSub.Dropped(); d > n.logDrops {
		n.log.Warn("log lines lost: the log fell behind the node's events", "dropped", d-n.logDrops)
		n.logDrops = d
	}
	switch e := e.(type) {
	case Started:
		if e.Incarnation > 1 {
			n.log.Info("process restarted", keyProcess, e.Path, keyIncarnation, e.Incarnation)
		} else if n.log.Enabled(context.Background(), slog.LevelDebug) {
			// Checked first: the arguments cost allocations per spawn
			// even when the line is dropped.
			n.log.Debug("process started", keyProcess, e.Path)
		}
	case Crashed:
		c := e.Crash
		n.log.Warn("process crashed", keyProcess, c.Path, keyIncarnation, c.Incarnation, keyReason, c.Reason,
			keyError, errString(c.Err), "stack", c.Stack, "restart", c.Restarted)
	case Stopped:
		if n.log.Enabled(context.Background(), slog.LevelDebug) {
			n.log.Debug("process stopped", keyProcess, e.Path, keyReason, e.Reason)
		}
	case Denied:
		n.log.Warn("capability denied", keyProcess, e.Path, "op", e.Op, keyError, e.Err)
	case TurnHeld:
		n.log.Warn("a turn holds the mailbox: its receive awaits a promise and no other message runs; answer later with ctx.deferReply",
			keyProcess, e.Path, keyIncarnation, e.Incarnation, "held", e.Held.Round(time.Millisecond))
	case RootFailed:
		n.log.Error("root supervisor failed; stopping the node", keyReason, e.Crash.Reason, keyError, errString(e.Crash.Err))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
