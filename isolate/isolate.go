package isolate

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/storage"

	"github.com/dop251/goja"
)

// Limits bound one incarnation. Zero fields take the defaults below.
type Limits struct {
	CPU          time.Duration // wall time a turn may run before it is interrupted
	Stack        int           // JS call depth
	MessageBytes int           // encoded size of one outgoing message
	Timers       int           // live setTimeout timers and sendAfter messages
	Memory       int64         // bytes of heap the isolate may hold (see limits.go)
}

// Default limits.
const (
	DefaultCPU          = 50 * time.Millisecond
	DefaultStack        = 2000
	DefaultMessageBytes = 1 << 20
	DefaultTimers       = 1000
	DefaultCallTimeout  = 5 * time.Second
	maxCallTimeout      = 10 * time.Minute
	maxMessageDepth     = 64
)

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.CPU <= 0 {
		l.CPU = DefaultCPU
	}
	if l.Stack <= 0 {
		l.Stack = DefaultStack
	}
	if l.MessageBytes <= 0 {
		l.MessageBytes = DefaultMessageBytes
	}
	if l.Timers <= 0 {
		l.Timers = DefaultTimers
	}
	if l.Memory <= 0 {
		l.Memory = DefaultMemory
	}
	l.Memory = max(l.Memory, minMemory)
	return l
}

// Grant is a named capability that appears in ctx.env.
type Grant struct {
	Name string
	Cap  *capability.Capability
}

// Host is what an isolate asks of the process that owns it. Every method is
// called on the owning actor's turn, never concurrently with another.
// Capabilities passed in have already passed their check in the isolate;
// the host checks again before it touches the target.
type Host interface {
	// Send delivers msg to c's target.
	Send(c *capability.Capability, msg *mailbox.Envelope) error
	// Call delivers msg as a call; the reply or failure comes back later
	// through Isolate.SettleCall with the returned id.
	Call(c *capability.Capability, msg *mailbox.Envelope, timeout time.Duration) (id uint64, err error)
	// SendAfter delivers msg to c's target after d unless cancelled.
	SendAfter(c *capability.Capability, msg *mailbox.Envelope, d time.Duration) (ref uint64, err error)
	// StartTimer arranges for Isolate.FireTimer(id) to run after d and
	// returns the id; it fails when the process has too many timers.
	StartTimer(d time.Duration) (id uint64, err error)
	// CancelTimer cancels a StartTimer or SendAfter; it reports whether one was pending.
	CancelTimer(ref uint64) bool
	// Stop ends this incarnation with reason after the current turn.
	Stop(reason string)
	// Log writes a console line to the node's log.
	Log(level slog.Level, msg string)
}

// Config is what an incarnation starts with.
type Config struct {
	Name   string // the process path, used in errors
	Self   *capability.Capability
	Env    []Grant
	Limits Limits
	Host   Host
	// Storage, when set, is the process's durable storage: ctx.storage.
	Storage *storage.Store
}

// Outcome is how a turn ended. Crash, when set, ends the incarnation.
type Outcome struct {
	Reply    *mailbox.Envelope // the encoded return value, when a reply was wanted
	ReplyErr error             // the return value could not be sent back
	Crash    error
	// Deferred is set when the turn took its reply out with
	// ctx.deferReply: the call is answered later through the handle.
	Deferred bool
}

// Isolate is one incarnation's JavaScript runtime: a private goja heap and
// globals, the module's handlers and the host API. It is not safe for
// concurrent use: the owning actor calls it from one goroutine at a time.
type Isolate struct {
	cfg       Config
	rt        *goja.Runtime
	ctx       *goja.Object
	init      goja.Callable
	receive   goja.Callable
	terminate goja.Callable
	inspect   goja.Callable
	alarm     goja.Callable // the alarm export, see storage.go

	methods    map[string]goja.Value   // capability handle methods, made on first use
	hostProtos map[string]*goja.Object // prototypes of host objects by tag, see hostObject
	freeze     goja.Callable           // goja's own Object.freeze (installGlobals)
	caps       *msgCaps                // made on the first encode or decode; see msgCaps
	calls      map[uint64]pendingCall
	settler    goja.Callable // settles a call's promise (promise.go), made on first use
	settling   settling      // what settler settles next
	vmBuf      *vmBuffers    // the VM stack and job queue lent to goja (vmreuse.go)
	timers     map[uint64]timer
	parked     map[uint64]int64 // sendAfter messages the host holds, by ref: the bytes charged
	turn       *pendingTurn
	reply      *replyState // the call the running turn answers; see defer.go
	// replySpare serves as a turn's replyState while replyLent is false,
	// so that a turn does not allocate one (newReplyState).
	replySpare replyState
	replyLent  bool
	detached   []*goja.Promise // promises of turns that deferred their reply
	// detachedErr is the rejection of a deferred turn's promise that was
	// settled when the turn ended; the next checkDetached returns it.
	detachedErr error
	lim         *limiter     // CPU and memory accounting, see limits.go
	sig         *signalState // monitors and notifications
	clist       clist        // capabilities received or made, for operators

	storageHeld int64 // memory charged for buffered storage writes, see storage.go

	builtins *builtins    // the guarded builtins, see builtins.go
	lazy     *lazyGlobals // globals installed on first use, see lazy.go; nil if installed eagerly
	web      *webState    // the fetch export and web classes, see web.go; nil until used

	mu         sync.Mutex  // guards seq and armed against the CPU watchdog
	seq        uint64      // turn counter; the watchdog interrupts only its own turn
	armed      uint64      // the turn the reusable watchdog timer is armed for, or 0
	armedDue   time.Time   // when its interval is up
	doomed     error       // set by Abort: every turn from now on ends with it
	longTurns  atomic.Bool // a turn ran past cpuCheckpoint: turns read the CPU clock as they start
	shortTurns int32       // turns in a row since, that ended before the checkpoint
	clock      threadClock // the turn's CPU clock, when clocked
	turnStart  time.Time
	cpuLimit   time.Duration // the turn's CPU time limit
	cpuBase    time.Duration // the clock's reading at the last check; 0 before the first
	cpuCharged time.Duration // CPU time charged to the turn up to cpuBase
	pin        *Pin          // the thread the turns run on now, if pinned (UsePin)
	watch      *time.Timer
	watchAt    time.Time // when it fires
	watchSets  uint32    // times armWatchdog set watch (under mu), for tests
	watchFires uint32    // times watch fired (under mu), for tests
	obs        observed  // totals for operators, see observe.go

	// The one-byte fields sit together: one word instead of one each keeps
	// an Isolate in a smaller allocation size class, for every idle actor.
	vmTurns    uint8 // turns run before vmBuf was made, up to vmLendAfter
	closed     bool
	clocked    bool // the turn's CPU clock is read (under mu)
	cpuBounded bool // cpuBase was read before the turn began (a pin's): see chargeSince
	watchSet   bool // watch is set to fire at watchAt (under mu)
	// The open run of turns, if any (batch.go): 1 + the turns it has
	// started, 0 if none is open; whether its clock (i.clock) locked the
	// goroutine; whether i.seq is already the next turn's number.
	runTurns   uint8
	runClocked bool
	runNext    bool
}

// pendingCall is a promise the host settles later; promise is kept for the
// memory walk (the callbacks awaiting it are the script's memory). A call's
// promise has no resolve and reject: settle settles it (promise.go).
type pendingCall struct {
	promise         *goja.Promise
	resolve, reject func(any) error
}

type timer struct {
	fn   goja.Callable
	val  goja.Value // fn as a value, for the memory walk
	args []goja.Value
}

type pendingTurn struct {
	promise   *goja.Promise
	wantReply bool
	reply     *replyState
	done      func(Outcome)
}

// New starts an incarnation of s: a fresh runtime, the host API, and the
// module body run under the CPU limit. It does not call init.
func New(s *Script, cfg Config) (*Isolate, error) {
	cfg.Limits = cfg.Limits.WithDefaults()
	i, err := takeBlank()
	if err != nil {
		return nil, fmt.Errorf("%s: set up the isolate: %w", cfg.Name, err)
	}
	i.cfg = cfg
	i.rt.SetMaxCallStackSize(cfg.Limits.Stack)
	i.lim.bind(cfg.Limits.Memory, s.prog)
	var exports goja.Value
	err = protect(func() error {
		i.builtins.ensureNeeds(s.needs)
		i.ctx = i.newContext()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: set up the isolate: %w", cfg.Name, err)
	}
	err = i.run(func() error {
		wrapper, err := i.rt.RunProgram(s.prog)
		if err != nil {
			return err
		}
		body, ok := goja.AssertFunction(wrapper)
		if !ok {
			return errors.New("compiled module is not a function")
		}
		exports, err = body(goja.Undefined(), i.builtins.moduleArgs(s)...)
		if err != nil {
			return err
		}
		// goja keeps a program's value as the runtime's last result, and
		// every later call saves and restores it: without this, each idle
		// isolate would hold the module function (~650 bytes).
		_, err = i.rt.RunProgram(clearResult)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: load %s: %w", cfg.Name, s.path, err)
	}
	if err := i.bindExports(exports); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", cfg.Name, s.path, err)
	}
	i.lim.exports = exportValues(exports.(*goja.Object), s.exports)
	i.lim.seed(s.prog)
	return i, nil
}

func (i *Isolate) bindExports(exports goja.Value) error {
	obj, ok := exports.(*goja.Object)
	if !ok {
		return ErrNoReceive
	}
	get := func(name string) (goja.Callable, error) {
		v := obj.Get(name)
		if v == nil || goja.IsUndefined(v) {
			return nil, nil
		}
		f, ok := goja.AssertFunction(v)
		if !ok {
			return nil, fmt.Errorf("export %q is not a function", name)
		}
		return f, nil
	}
	var errs [6]error // an array: no allocation when all is well
	i.init, errs[0] = get("init")
	i.receive, errs[1] = get("receive")
	i.terminate, errs[2] = get("terminate")
	i.inspect, errs[3] = get("inspect")
	errs[4] = i.bindWeb(obj)
	i.alarm, errs[5] = get("alarm")
	if err := errors.Join(errs[:]...); err != nil {
		return err
	}
	if i.receive == nil && !i.HasFetch() {
		return ErrNoReceive
	}
	return nil
}

// run calls f with the CPU watchdog armed and turns every way f can fail —
// a JS throw, an interrupt, a stack overflow, a Go panic inside goja — into
// an error for this incarnation. Thrown values are described while the
// watchdog is still armed: reading a message can run a script's getters.
func (i *Isolate) run(f func() error) error { return i.runAfter(nil, f) }

// runAfter is run with host work first: pre is charged to the turn's
// memory but not to its CPU limit, whose clock starts when f does.
func (i *Isolate) runAfter(pre, f func() error) error { return i.runAfterShort(pre, pre == nil, f) }

// shortDecode is the largest message whose decoding the watchdog lets
// count as the turn's start (see runAfterShort): a few microseconds.
const shortDecode = 1024

// runAfterShort is runAfter where short says that pre takes a few
// microseconds at most. Such a turn's watchdog is armed with the time the
// turn's accounting began (limiter.begin), one clock read instead of two:
// the turn's first check comes as much earlier.
func (i *Isolate) runAfterShort(pre func() error, short bool, f func() error) error {
	if i.closed {
		return ErrClosed
	}
	// A turn of an open run (batch.go); a turn started inside another is
	// never one.
	inRun := i.runTurns != 0 && i.armed == 0
	var seq uint64
	if inRun && i.runNext {
		seq = i.seq // taken as the turn before ended
	} else {
		i.mu.Lock()
		i.seq++
		seq = i.seq
		i.mu.Unlock()
	}
	if inRun {
		i.runNext = false
		i.runTurns = min(i.runTurns+1, maxRun+1)
	}
	began := i.lim.begin()
	if !short {
		began = 0
	}
	if pre != nil {
		if err := protect(pre); err != nil {
			i.mu.Lock()
			i.seq++
			i.mu.Unlock()
			i.rt.ClearInterrupt()
			return i.lim.end(err)
		}
	}
	err := func() error {
		nested, clocked := i.armWatchdog(seq, began)
		defer i.disarm(nested, clocked) // unlocks the thread whatever happens
		i.lendVM()
		err := protect(f)
		if !inRun {
			i.reclaimVM() // a run's are cleared as it ends
		}
		if err != nil {
			err = i.describe(err)
		}
		return err
	}()
	i.rt.ClearInterrupt()
	return i.lim.end(err)
}

// armWatchdog arranges for turn seq to be interrupted when its CPU limit
// is up and returns what disarms it. The isolate's one timer is reused from
// turn to turn; a turn started inside another (none does today) gets a
// timer of its own, on wall time.
//
// Where the turn's thread has a readable CPU clock (Linux), the limit is
// CPU time, and a turn is charged only its own: the timer first fires
// after cpuCheckpoint of wall time, when the thread's clock is read for the
// first time, and from then on the clock decides. The turn is charged
// cpuCheckpoint for the time before that first reading, however long it
// was in wall time: a turn that waited for a CPU behind another tenant's
// long call, or sat out a collection another tenant caused, is not charged
// for the wait. Reading the clock as the turn starts would make the first
// interval exact, but costs a system call, and nearly every turn ends
// before the first reading; so only an isolate that has once run a turn
// past the checkpoint reads it as its turns start, and a late first check
// can undercharge only its first long turn. Elsewhere the limit is wall time.
//
// Under a pin (UsePin), the turn's thread is the pin's, known without a
// system call, and a start reading of the clock taken less than pinFresh
// ago, for an earlier turn of the same run on the same locked thread,
// serves as this turn's: the CPU the thread used since then is this
// process's alone, and the turn is charged at most that, and at most its
// own wall time (chargeSince). A turn is so charged, besides its own CPU
// time, at most pinFresh of CPU its own process used just before it, and
// never a neighbour's.
//
// The timer is shared by the turns that follow each other closely: a turn
// of a mailbox run ends without stopping it (see disarm), and a turn that
// finds it still set from a turn before, to fire no later than its own
// first check, leaves it; when it fires early for this turn, the watchdog
// sets it again for what is left of the turn's interval, and when it
// fires between turns it does nothing. Setting a timer to fire sooner
// than any other wakes the thread waiting in the network poller (a write
// to its eventfd, then the poller's read and wait: three system calls) or
// an idle thread (a futex); so turns that come faster than cpuCheckpoint
// set the timer about once per checkpoint, not once per turn, an actor
// that has gone quiet pays for one idle firing, and each turn is still
// looked at when its own interval is up.
//
// It returns what disarm needs: the timer of a nested turn, or nil, and
// whether the goroutine was locked for the clock. at, if not 0, is the
// time to take as now, since procStart.
func (i *Isolate) armWatchdog(seq uint64, at time.Duration) (nested *time.Timer, clocked bool) {
	limit := i.cfg.Limits.CPU
	// armed is written on this goroutine only: it is read here unlocked.
	if i.armed != 0 {
		return time.AfterFunc(limit, func() { i.interruptTurn(seq) }), false
	}
	var clock threadClock
	pin := i.pin
	inRun := i.runTurns != 0
	switch {
	case inRun:
		clock, clocked = i.clock, i.runClocked // the run's thread, locked for the run
	case pin != nil:
		clock, clocked = pin.turnClock()
	default:
		clock, clocked = startThreadClock()
	}
	first := min(limit, probeEvery)
	if clocked {
		first = min(limit, cpuCheckpoint)
	}
	var base time.Duration
	bounded := false
	now := procStart.Add(at)
	if at == 0 {
		now = monoNow()
	}
	if clocked && (i.longTurns.Load() || nodeLoaded(now)) {
		// This isolate has run long turns before, or the node's timers
		// fire late: its turns are clocked from their start, so a late
		// first check cannot undercharge it.
		switch {
		case pin == nil:
			base, _ = clock.read()
		case pin.base != 0 && now.Sub(pin.baseAt) < pinFresh:
			base, bounded = pin.base, true
		default:
			base, _ = clock.read()
			pin.base, pin.baseAt = base, now
		}
	}
	due := now.Add(first)
	i.mu.Lock()
	i.armed, i.armedDue = seq, due
	i.turnStart, i.clock, i.clocked, i.cpuLimit, i.cpuBase, i.cpuCharged = now, clock, clocked, limit, base, 0
	i.cpuBounded = bounded
	switch {
	case i.watch == nil:
		i.watch = time.AfterFunc(first, i.watchdog) // under mu: it may fire before the assignment
		i.watchSet, i.watchAt = true, due
		i.watchSets++
	case !i.watchSet || i.watchAt.After(due):
		i.watch.Reset(first)
		i.watchSet, i.watchAt = true, due
		i.watchSets++
	}
	if i.doomed != nil {
		i.lim.abort(i.doomed)
		i.rt.Interrupt(i.doomed)
	}
	i.mu.Unlock()
	return nil, clocked && !inRun // a run's clock stops as the run ends
}

// disarm ends the turn armWatchdog armed: the turn counter moves on, so
// that nothing meant for the turn reaches the next. A turn of a mailbox
// run (under a pin) leaves the timer set for the turns that follow (see
// armWatchdog); one outside a run (the module body, init) stops it: an
// isolate just made often goes quiet, and the timer's idle firing would
// cost more than setting it again. Close stops it.
func (i *Isolate) disarm(nested *time.Timer, clocked bool) {
	if nested != nil {
		nested.Stop()
		i.mu.Lock()
		i.seq++
		i.mu.Unlock()
		return
	}
	i.mu.Lock()
	i.seq++
	if i.runTurns != 0 {
		// The next turn of the run takes its number now: one lock fewer
		// per turn. Until it is armed nothing is (armed is 0), so no
		// interrupt or probe acts on it meanwhile.
		i.seq++
		i.runNext = true
	}
	i.armed = 0
	i.obs.turnCPU = i.cpuCharged
	checked := i.cpuCharged != 0 // the watchdog looked at the turn
	// Outside a mailbox run the timer stops; a run of turns (batch.go)
	// stops it as the run ends.
	if i.pin == nil && i.watchSet && i.runTurns == 0 {
		i.watch.Stop()
		i.watchSet = false
	}
	i.mu.Unlock()
	if clocked {
		i.clock.stop()
	}
	switch {
	case checked:
		i.shortTurns = 0
	case i.longTurns.Load():
		if i.shortTurns++; i.shortTurns >= clockedShortTurns {
			i.longTurns.Store(false)
			i.shortTurns = 0
		}
	}
}

// A running turn's watchdog check that comes more than lateFiring after
// its time says the machine is loaded: the thread that runs timers waited
// for a CPU, and a turn's first check can come as late. For loadedFor
// after such a check, anywhere in the node, every turn reads its CPU
// clock as it starts (armWatchdog), so that a late first check, which
// charges at most the checkpoint for the time before it, cannot
// undercharge a turn's first long stretch. On a quiet node turns skip
// that read (a system call, 1.5 µs here; reading it at the start of every
// new incarnation's first turns instead cost spawn 13 µs and restart
// 15 µs). lateFiring is well inside the 5 ms a turn may overrun its
// limit; loadedFor is long beside the few milliseconds between late
// checks under a steady load, and short enough that a burst of work (a
// benchmark's flood) leaves no cost behind. What is left: the first late
// check after a quiet spell can still undercharge one turn by its
// lateness.
const (
	lateFiring = 2 * time.Millisecond
	loadedFor  = 100 * time.Millisecond
)

// loadedUntil is when the node stops counting as loaded, in nanoseconds
// since procStart.
var loadedUntil atomic.Int64

// noteLoaded records a late watchdog firing seen at now. It writes the
// shared word only when that moves the deadline by a tenth of loadedFor,
// so that firings on a loaded machine do not all write it.
func noteLoaded(now time.Time) {
	until := int64(now.Sub(procStart) + loadedFor)
	if until > loadedUntil.Load()+int64(loadedFor/10) {
		loadedUntil.Store(until)
	}
}

// nodeLoaded reports whether a watchdog firing came late within loadedFor
// before now.
func nodeLoaded(now time.Time) bool { return int64(now.Sub(procStart)) < loadedUntil.Load() }

// clockedShortTurns is how many turns in a row that end before their
// first check an isolate's turns are clocked from their start after a
// long turn (longTurns). A turn only descheduled past the checkpoint, on a
// loaded machine, makes an isolate read its clock as turns start, a
// system call each; this many short turns after, it stops, and a late
// first check can undercharge again one long turn: one in this many.
const clockedShortTurns = 100

// monoNow is the time now, read from the monotonic clock alone: half the
// cost of time.Now, which reads the wall clock too. Its wall-clock part is
// only an estimate; every use compares it with other times or takes the
// time since, which Go does on the monotonic clock.
func monoNow() time.Time { return procStart.Add(time.Since(procStart)) }

// cpuCheckpoint is when the watchdog first reads a turn's CPU clock, and
// what the turn is charged for the time before.
const cpuCheckpoint = time.Millisecond

// pinFresh is how old a pin's clock reading may be to serve as a turn's
// start reading.
const pinFresh = 200 * time.Microsecond

// UsePin tells the isolate that its turns run on p's thread until the
// next UsePin (nil: not pinned). It is called on the isolate's goroutine,
// between turns, by the goroutine p belongs to.
func (i *Isolate) UsePin(p *Pin) { i.pin = p }

// chargeSince is the CPU time a turn used from the clock reading base to
// the reading now: their difference, and for a base read before the turn
// began (a pin's), at most the turn's wall time so far. Called under mu.
func (i *Isolate) chargeSince(base, now time.Duration) time.Duration {
	d := now - base
	if i.cpuBounded {
		d = min(d, time.Since(i.turnStart))
	}
	return d
}

// watchdog is the reusable timer's function. It fires at the turn's first
// CPU checkpoint and then every probeEvery, or when the turn's time is up
// if that is sooner: each time it runs the memory probe, reads the turn's
// CPU clock and ends the turn if its time is up.
func (i *Isolate) watchdog() {
	i.mu.Lock()
	i.watchFires++
	now := time.Now()
	if i.watchSet && now.Before(i.watchAt) {
		// A firing overtaken by a Reset: the timer fires again later.
		i.mu.Unlock()
		return
	}
	late := i.watchSet && now.Sub(i.watchAt) > lateFiring
	i.watchSet = false
	armed := i.armed
	if armed == 0 {
		i.mu.Unlock()
		return // between turns, or after the last one
	}
	if late {
		noteLoaded(now) // a running turn's check came late
	}
	if wait := i.armedDue.Sub(now); wait > 0 {
		// Set by an earlier turn of a run (see armWatchdog): this turn's
		// interval is not up yet.
		i.watch.Reset(wait)
		i.watchSet, i.watchAt = true, now.Add(wait)
		i.mu.Unlock()
		return
	}
	clock, clocked := i.clock, i.clocked
	i.mu.Unlock()
	if i.lim.probe(armed) {
		return // ended with memory_limit
	}
	var cpu time.Duration
	if clocked {
		var ok bool
		if cpu, ok = clock.read(); !ok {
			i.interruptTurn(armed)
			return
		}
	}
	i.mu.Lock()
	if i.armed != armed {
		i.mu.Unlock()
		return
	}
	switch {
	case !clocked:
		i.cpuCharged = time.Since(i.turnStart)
	case i.cpuBase == 0:
		// The first reading: the wall time so far bounds the CPU time,
		// but a timer that fired late says the process was busy, not
		// that this turn was; the turn is charged the checkpoint. From
		// now on the isolate's turns read the clock as they start.
		i.cpuCharged = min(time.Since(i.turnStart), cpuCheckpoint)
		i.longTurns.Store(true)
	default:
		i.cpuCharged += i.chargeSince(i.cpuBase, cpu)
		i.cpuBounded = false
	}
	i.cpuBase = cpu
	left := i.cpuLimit - i.cpuCharged
	if left > 0 {
		next := min(left, probeEvery)
		now := time.Now()
		i.armedDue = now.Add(next)
		i.watch.Reset(next)
		i.watchSet, i.watchAt = true, now.Add(next)
	}
	i.mu.Unlock()
	if left <= 0 {
		i.interruptTurn(armed)
	}
}

// turnTimeLeft is what the running turn has left of its CPU limit, as the
// watchdog counts it: CPU time where the thread's clock is read, the wall
// time since the turn started (after its message was decoded), at most the
// checkpoint, before that.
func (i *Isolate) turnTimeLeft() time.Duration {
	i.mu.Lock()
	armed, clocked, clock, start := i.armed, i.clocked, i.clock, i.turnStart
	limit, base, charged, bounded := i.cpuLimit, i.cpuBase, i.cpuCharged, i.cpuBounded
	i.mu.Unlock()
	if armed == 0 {
		return i.cfg.Limits.CPU
	}
	if clocked && base != 0 {
		if now, ok := clock.read(); ok {
			d := now - base
			if bounded {
				d = min(d, time.Since(start))
			}
			return limit - charged - d
		}
	}
	if clocked {
		return limit - min(time.Since(start), cpuCheckpoint)
	}
	return limit - time.Since(start)
}

// Abort ends the incarnation's script work with err (ErrKilled for an
// operator's kill or a stop past its shutdown time): the turn running now
// is ended as its CPU limit would end it — goja stops at its next
// instruction, the guarded builtins at their next check — and every later
// turn ends as it starts. It reports whether a turn was running. Safe for
// concurrent use.
func (i *Isolate) Abort(err error) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.doomed == nil {
		i.doomed = err
	}
	if i.armed == 0 || i.seq != i.armed {
		return false
	}
	i.lim.abort(err)
	i.rt.Interrupt(err)
	return true
}

// interruptTurn interrupts turn seq if it is still running.
func (i *Isolate) interruptTurn(seq uint64) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.seq == seq {
		i.lim.abort(ErrCPULimit)
		i.rt.Interrupt(ErrCPULimit)
	}
}

// protect recovers a Go panic from f into a *PanicError.
func protect(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	return f()
}

// panicError describes a recovered panic without keeping an engine value
// or running script code: a JS value's toString is never called.
func panicError(r any) *PanicError {
	switch v := r.(type) {
	case *limitAbort:
		return &PanicError{Value: v}
	case *goja.Exception, *goja.InterruptedError, goja.Value:
		return &PanicError{Value: fmt.Sprintf("%T", v)}
	case error:
		return &PanicError{Value: truncate(v.Error(), 4096)}
	case string:
		return &PanicError{Value: truncate(v, 4096)}
	}
	return &PanicError{Value: truncate(fmt.Sprintf("%v", r), 4096)}
}

// describeException describes a thrown value: its name and message, read
// under a recover since they may be the script's getters or a Proxy's
// traps, and the stack goja recorded. If reading them ran into the CPU or
// memory limit or a kill, that is the turn's end.
func (i *Isolate) describeException(ex *goja.Exception) error {
	var b bytes.Buffer
	for _, fr := range ex.Stack() {
		b.WriteString("    at ")
		fr.Write(&b)
		b.WriteByte('\n')
		if b.Len() > 16<<10 {
			break
		}
	}
	name, msg := "", "uncaught exception"
	var stopped error
	func() {
		defer func() {
			switch r := recover().(type) {
			case *goja.InterruptedError:
				stopped = i.describe(r)
			case *limitAbort:
				stopped = r.err
			}
		}()
		name, msg = valueName(ex.Value())
	}()
	if errors.Is(stopped, ErrCPULimit) || errors.Is(stopped, ErrMemoryLimit) || errors.Is(stopped, ErrKilled) {
		return stopped
	}
	var kind error
	if o, ok := ex.Value().(*goja.Object); ok && i.builtins != nil && o == i.builtins.refused {
		// A refused allocation that nobody caught ends the turn as the
		// memory limit would have (compared by identity: reading the
		// thrown object could run the script's getters).
		kind = ErrMemoryLimit
	}
	return &JSError{Name: name, Message: msg, Stack: msg + "\n" + b.String(), kind: kind}
}

// describe maps goja's errors onto this package's, which hold strings
// only. It never calls Exception.Error or String, which run the thrown
// value's toString.
func (i *Isolate) describe(err error) error {
	// A thrown value is looked at by its type first, never unwrapped:
	// goja's Exception.Unwrap walks the value's prototype chain and reads
	// its "value", which for a Proxy's traps or a getter runs the script,
	// here outside the turn's protection (a spinning getPrototypeOf trap
	// panicked through the worker as a Go panic).
	if ex, ok := err.(*goja.Exception); ok {
		return i.describeException(ex)
	}
	if lerr, ok := limitError(err); ok {
		return lerr
	}
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if v, ok := ie.Value().(error); ok {
			for _, reason := range []error{ErrCPULimit, ErrMemoryLimit, ErrKilled} {
				if errors.Is(v, reason) {
					return reason
				}
			}
		}
		return &JSError{Message: "interrupted"}
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return &JSError{Name: "RangeError", Message: "RangeError: Maximum call stack size exceeded", kind: ErrStackOverflow}
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return i.describeException(ex)
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		return pe
	}
	var ce *CloneError
	if errors.As(err, &ce) {
		return &CloneError{Path: ce.Path, Reason: ce.Reason, Limit: ce.Limit} // without a getter's exception
	}
	// Anything else from goja (a compile error of eval'd code, a type
	// error raised in Go) is kept as its text alone.
	return errors.New(truncate(err.Error(), 4096))
}

// valueName returns a thrown value's name, if it has one, and its
// description as "Name: message". It may run getters, so it is called
// only inside run.
func valueName(v goja.Value) (name, msg string) {
	if v == nil {
		return "", "undefined"
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return "", "uncaught " + truncate(v.String(), 4096)
	}
	if _, ok := handleOf(o); ok {
		return "", "uncaught [object Capability]"
	}
	name, m := stringProp(o, "name"), stringProp(o, "message")
	switch {
	case name == "" && m == "":
		return "", "uncaught " + o.ClassName()
	case name == "":
		return "", "Error: " + m
	case m == "":
		return name, name
	}
	return name, name + ": " + m
}

// stringProp returns o[key] if it is a primitive string, shortened.
func stringProp(o *goja.Object, key string) string {
	v := o.Get(key)
	if v == nil {
		return ""
	}
	if s, ok := v.Export().(string); ok {
		return truncate(s, 4096)
	}
	return ""
}

// Init calls the module's init(args, ctx) as the first turn. done runs when
// it has finished, at once or when its promise settles.
func (i *Isolate) Init(args *mailbox.Envelope, done func(Outcome)) {
	if i.init == nil {
		done(Outcome{})
		return
	}
	i.startTurn(i.init, args, false, done)
}

// Receive hands one message to receive(msg, ctx). If wantReply, the return
// value (or the value its promise resolves to) is encoded into the outcome's
// Reply. done runs exactly once: during Receive, or during a later
// SettleCall or FireTimer when the returned promise settles. A message
// turn must not start while Busy.
func (i *Isolate) Receive(msg *mailbox.Envelope, wantReply bool, done func(Outcome)) {
	if i.receive == nil { // a script that serves HTTP only
		done(Outcome{ReplyErr: fmt.Errorf("%w: %s", ErrNoReceive, i.cfg.Name)})
		return
	}
	i.startTurn(i.receive, msg, wantReply, done)
}

// Busy reports whether a turn is waiting for its promise to settle.
func (i *Isolate) Busy() bool { return i.turn != nil }

func (i *Isolate) startTurn(f goja.Callable, msg *mailbox.Envelope, wantReply bool, done func(Outcome)) {
	i.startTurnWithShort(f, func() (goja.Value, error) { return i.decode(msg) }, msg == nil || msg.Size() <= shortDecode, wantReply, done)
}

// startTurnWith runs f on the argument arg builds, inside the turn.
func (i *Isolate) startTurnWith(f goja.Callable, arg func() (goja.Value, error), wantReply bool, done func(Outcome)) {
	i.startTurnWithShort(f, arg, false, wantReply, done)
}

// startTurnWithShort is startTurnWith where short says that arg takes a
// few microseconds at most (see runAfterShort).
func (i *Isolate) startTurnWithShort(f goja.Callable, arg func() (goja.Value, error), short, wantReply bool, done func(Outcome)) {
	var result goja.Value
	var a goja.Value
	var reply *mailbox.Envelope
	var replyErr error
	encoded := false
	rs := i.newReplyState(wantReply)
	i.reply = rs
	// Decoding is the host's work on the sender's data, bounded by the
	// message size limit: it is not charged to the receiver's CPU limit,
	// so a message that is slow to decode cannot make its receiver crash.
	err := i.runAfterShort(func() error {
		var err error
		a, err = arg()
		return err
	}, short, func() error {
		var err error
		result, err = f(goja.Undefined(), a, i.ctx)
		if err != nil || !wantReply || rs.deferred {
			return err
		}
		if _, ok := promiseOf(result); ok {
			return nil
		}
		// The reply is encoded in the turn that made it, under its CPU
		// limit, once the promise jobs the handler queued have run (they
		// ran as it returned). It cannot crash the incarnation: what
		// goes wrong is the caller's error, as for a reply encoded later.
		encoded = true
		i.reply = nil // a getter the encoding runs cannot defer the reply
		if err := protect(func() error {
			var err error
			reply, err = i.encode(result)
			return err
		}); err != nil {
			reply, replyErr = nil, i.describe(err)
		}
		return nil
	})
	if p, ok := promiseOf(result); ok && err == nil {
		i.turn = &pendingTurn{promise: p, wantReply: wantReply, reply: rs, done: done}
		i.checkTurn()
		return
	}
	i.reply = nil
	deferred := rs.deferred
	i.dropReplyState(rs)
	if errors.Is(err, errStaleNote) {
		done(Outcome{})
		return
	}
	if err != nil {
		done(Outcome{Crash: err})
		return
	}
	if deferred {
		done(Outcome{Deferred: true})
		return
	}
	if encoded {
		done(Outcome{Reply: reply, ReplyErr: replyErr})
		return
	}
	done(i.finish(result, wantReply))
}

// promiseOf returns v as a promise if it is one. It asks the object's
// export type first: exporting any other object would copy it, all of it,
// into Go values — a turn's whole reply, on every turn.
func promiseOf(v goja.Value) (*goja.Promise, bool) {
	if o, ok := v.(*goja.Object); ok && o.ExportType() == promiseType {
		p, ok := o.Export().(*goja.Promise)
		return p, ok
	}
	return nil, false
}

var promiseType = reflect.TypeOf((*goja.Promise)(nil))

// checkTurn completes the pending turn if its promise has settled. Promise
// jobs run only inside calls into the runtime, so every entry point that
// runs script code calls it afterwards.
func (i *Isolate) checkTurn() {
	t := i.turn
	if t == nil {
		return
	}
	deferred := t.reply != nil && t.reply.deferred
	switch t.promise.State() {
	case goja.PromiseStatePending:
		if deferred {
			// The reply left the turn: the mailbox moves on.
			i.turn, i.reply = nil, nil
			i.dropReplyState(t.reply)
			i.detach(t.promise)
			t.done(Outcome{Deferred: true})
		}
		return
	case goja.PromiseStateRejected:
		i.turn, i.reply = nil, nil
		i.dropReplyState(t.reply)
		t.done(Outcome{Crash: i.rejection(t.promise.Result())})
	default:
		i.turn, i.reply = nil, nil
		i.dropReplyState(t.reply)
		if deferred {
			t.done(Outcome{Deferred: true})
			return
		}
		t.done(i.finish(t.promise.Result(), t.wantReply))
	}
}

// newReplyState is the replyState of a turn that starts: the isolate's
// spare, unless a turn awaiting its promise holds it.
func (i *Isolate) newReplyState(want bool) *replyState {
	if i.replyLent {
		return &replyState{want: want}
	}
	i.replyLent = true
	i.replySpare = replyState{want: want}
	return &i.replySpare
}

// dropReplyState is called as the turn rs belongs to ends.
func (i *Isolate) dropReplyState(rs *replyState) {
	if rs == &i.replySpare {
		i.replyLent = false
	}
}

func (i *Isolate) finish(result goja.Value, wantReply bool) Outcome {
	if !wantReply {
		return Outcome{}
	}
	var env *mailbox.Envelope
	err := i.run(func() error {
		var err error
		env, err = i.encode(result)
		return err
	})
	if err != nil {
		return Outcome{ReplyErr: err}
	}
	return Outcome{Reply: env}
}

// SettleCall resolves (reply) or rejects (err) the promise of call id. A
// reply for an unknown id (already timed out) is ignored. The returned error
// is a crash of this incarnation.
func (i *Isolate) SettleCall(id uint64, reply *mailbox.Envelope, callErr error) error {
	pc, ok := i.calls[id]
	if !ok {
		return nil
	}
	delete(i.calls, id)
	i.lim.release(hostTimerBytes)
	var v goja.Value
	var decodeErr error
	// Decoded outside the CPU limit, as a message is (see startTurnWith).
	err := i.runAfter(func() error {
		if callErr == nil {
			v, decodeErr = i.decode(reply)
		}
		return nil
	}, func() error {
		if callErr != nil {
			return i.settle(pc, i.newError(callErrorName(callErr), callErr.Error()), true)
		}
		if decodeErr != nil {
			return i.settle(pc, i.newError("TypeError", decodeErr.Error()), true)
		}
		return i.settle(pc, v, false)
	})
	if err != nil {
		return err
	}
	i.checkTurn()
	return i.checkDetached()
}

// FireTimer runs a setTimeout callback. A timer cleared meanwhile is ignored.
func (i *Isolate) FireTimer(id uint64) error {
	t, ok := i.timers[id]
	if !ok {
		return nil
	}
	i.forgetTimer(id)
	err := i.run(func() error {
		_, err := t.fn(goja.Undefined(), t.args...)
		return err
	})
	if err != nil {
		return err
	}
	i.checkTurn()
	return i.checkDetached()
}

// Terminate calls terminate(reason, ctx) under the CPU limit. A promise it
// returns is not awaited.
func (i *Isolate) Terminate(reason string) error {
	if i.terminate == nil {
		return nil
	}
	return i.run(func() error {
		_, err := i.terminate(goja.Undefined(), i.rt.ToValue(reason), i.ctx)
		return err
	})
}

// Inspect calls the optional inspect() export and returns its encoded
// result, or nil if the script exports none.
func (i *Isolate) Inspect() (*mailbox.Envelope, error) {
	if i.inspect == nil {
		return nil, nil
	}
	var env *mailbox.Envelope
	err := i.run(func() error {
		v, err := i.inspect(goja.Undefined(), i.ctx)
		if err != nil {
			return err
		}
		env, err = i.encode(v)
		return err
	})
	return env, err
}

// Close ends the incarnation: pending calls and timers are forgotten and no
// further script code runs. Safe to call twice.
func (i *Isolate) Close() {
	if i.closed {
		return
	}
	i.EndRun()
	i.closed = true
	if i.watch != nil {
		i.mu.Lock()
		i.watch.Stop()
		i.watchSet = false
		i.mu.Unlock()
	}
	for id := range i.timers {
		i.cfg.Host.CancelTimer(id)
	}
	i.timers = nil
	i.parked = nil
	i.calls = nil
	i.storageHeld = 0
	i.turn = nil
	i.reply = nil
	i.replyLent = false
	i.detached = nil
	i.lim.held = 0
	if i.caps != nil {
		i.caps.enc, i.caps.dec = nil, nil // left by a turn cut short inside encode or decode
	}
}

// encode copies v into an envelope, transferring the capabilities inside it.
//
// The capability list is gathered in i.caps.enc through onCapFn, made once,
// rather than by a closure per message (two allocations). A getter run by the
// encoder may send a message of its own, so each encode saves the list of the
// one it interrupts and puts it back after; the list it hands to the envelope
// is never touched again by the isolate.
func (i *Isolate) encode(v goja.Value) (*mailbox.Envelope, error) {
	m := i.msgCaps()
	outer := m.enc
	m.enc = nil
	e, err := encodePooled(i.rt, v, codecLimits{MaxBytes: i.cfg.Limits.MessageBytes, MaxDepth: maxMessageDepth}, m.onCapFn)
	caps := m.enc
	m.enc = outer
	var env *mailbox.Envelope
	if err == nil {
		env = mailbox.CopyEnvelope(e.buf, caps) // copies: e.buf goes back to the pool below
	}
	e.release()
	if err != nil {
		var ce *CloneError
		if r, ok := i.cfg.Host.(LimitReporter); ok && errors.As(err, &ce) && ce.Limit != "" {
			r.LimitHit(ce.Limit, err)
		}
		return nil, err
	}
	return env, nil
}

// msgCaps holds the capabilities of the message an isolate is encoding or
// decoding, and the two callbacks the codec reads them through, made once
// per isolate (kept out of Isolate itself, which must fit its size class).
type msgCaps struct {
	iso     *Isolate
	enc     []*capability.Capability
	dec     []*capability.Capability
	onCapFn func(o *goja.Object) (uint32, bool)
	capAtFn func(idx uint32) (goja.Value, error)
}

func (i *Isolate) msgCaps() *msgCaps {
	if i.caps == nil {
		m := &msgCaps{iso: i}
		m.onCapFn, m.capAtFn = m.onCap, m.capAt
		i.caps = m
	}
	return i.caps
}

// onCap adds o's capability to the message being encoded, if o is a handle
// of this isolate.
func (m *msgCaps) onCap(o *goja.Object) (uint32, bool) {
	h, ok := handleOf(o)
	if !ok || h.iso != m.iso {
		return 0, false
	}
	m.enc = append(m.enc, h.cap)
	return uint32(len(m.enc) - 1), true
}

// decode builds a fresh JS value from env; capabilities become new handles.
// The capability list is read through i.caps.capAtFn, made once, from i.caps.dec,
// saved and restored around the call as encode does with its own.
func (i *Isolate) decode(env *mailbox.Envelope) (goja.Value, error) {
	if env == nil {
		return goja.Undefined(), nil
	}
	if hasBin(env.Data()) {
		// The decoder builds an ArrayBuffer without the global object:
		// the typed arrays must be guarded before the script sees it.
		i.lazy.ensure(lazyTypedArrays)
	}
	if len(env.Caps()) == 0 {
		// No handle to make: msgCaps is not needed (an isolate that only
		// receives plain data never makes it, 112 bytes of its idle cost).
		return decodeValue(i.rt, env.Data(), codecLimits{MaxDepth: maxMessageDepth + 1, MaxBytes: len(env.Data()) + 1}, nil)
	}
	m := i.msgCaps()
	outer := m.dec
	m.dec = env.Caps()
	v, err := decodeValue(i.rt, env.Data(), codecLimits{MaxDepth: maxMessageDepth + 1, MaxBytes: len(env.Data()) + 1}, m.capAtFn)
	m.dec = outer
	return v, err
}

// capAt makes a handle for capability idx of the message decode is reading.
func (m *msgCaps) capAt(idx uint32) (goja.Value, error) {
	caps := m.dec
	if int(idx) >= len(caps) {
		return nil, fmt.Errorf("capability index %d out of range", idx)
	}
	m.iso.clist.add(caps[idx])
	return m.iso.handle(caps[idx]), nil
}
