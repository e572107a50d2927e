package actor

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// Links, monitors and exit signals bind incarnations, as OTP binds pids: a
// capability names a slot, and monitor or link act on the incarnation
// running in it at that moment. When the incarnation ends, its monitors
// fire and its links carry the reason to the other side, once.

// life is a process's incarnation bookkeeping, guarded by Process.life.
type life struct {
	live     uint64                   // the incarnation running now; 0 between incarnations
	monitors map[uint64]monitorEntry  // who watches live, by reference
	links    map[*Process]uint64      // linked processes and their incarnation
	calls    map[*callRef]struct{}    // calls delivered and not answered yet
	slots    map[uint64]monitorEntry  // slot monitors: watch every incarnation; see watch.go
	watching map[watcherKey]int       // monitors in monitors by watcher; see monitorshare.go
	slotted  map[watcherKey]int       // the same for slots
	retired  bool                     // stopped for good: no incarnation follows
	rlinks   map[*remoteLink]struct{} // links with processes of other nodes; see remote.go
}

type monitorEntry struct {
	watcher *Process
	inc     uint64              // the watcher's incarnation, which receives the down
	notify  func(reason string) // instead of watcher: a watcher on another node (remote.go)
}

// exitSignal asks a worker incarnation to end, or, if it traps exits, to
// receive a notification.
type exitSignal struct {
	inc     uint64 // the incarnation it is for; 0 for whichever runs
	from    string // the sender's path
	reason  string
	kill    bool // untrappable
	linked  bool // propagated through a link
	counted bool // sent by a script: counted in the target's signals
}

// downNote tells a watcher incarnation that a monitored process ended.
type downNote struct {
	inc     uint64
	ref     uint64
	reason  string
	counted bool // queued by the watcher's own call: counted in its signals
	slot    slotNote
}

// Reasons with which an incarnation ends without crashing.
const (
	ReasonNormal   = "normal"
	ReasonShutdown = "shutdown"
	ReasonKilled   = "killed"
	ReasonLinked   = "linked"
	ReasonNoProc   = "noproc"
)

// IsNormal reports whether reason ends a process without error: transient
// children are not restarted and linked processes are not taken down.
func IsNormal(reason string) bool {
	return reason == ReasonNormal || reason == ReasonShutdown || reason == ReasonCodeChange
}

// begin marks inc as the running incarnation.
func (p *Process) begin(inc uint64) {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	p.life.live = inc
	p.notifySlots(slotUp, "")
}

// end records that incarnation inc has ended with reason: every monitor on
// it fires and every link carries the reason to the other side. It runs
// once per incarnation; later calls do nothing.
func (p *Process) end(inc uint64, reason string) {
	p.lifeMu.Lock()
	if p.life.live != inc || inc == 0 {
		p.lifeMu.Unlock()
		return
	}
	p.life.live = 0
	p.notifySlots(slotDown, reason)
	monitors, links, rlinks := p.life.monitors, p.life.links, p.life.rlinks
	p.life.monitors, p.life.links, p.life.rlinks, p.life.watching = nil, nil, nil, nil
	p.lifeMu.Unlock()

	var failed *stepPanic
	for ref, m := range monitors {
		if m.notify != nil {
			if sp := notify(m.notify, reason); sp != nil && failed == nil {
				failed = sp
			}
			continue
		}
		m.watcher.tell(&downNote{inc: m.inc, ref: ref, reason: reason})
	}
	if len(rlinks) > 0 && p.node.remote != nil {
		p.node.remote.linksEnded(p, rlinks, reason)
	}
	for other, oinc := range links {
		other.lifeMu.Lock()
		if other.life.links[p] == inc {
			delete(other.life.links, p)
		}
		other.lifeMu.Unlock()
		other.tell(&exitSignal{inc: oinc, from: p.path, reason: reason, linked: true})
	}
	if failed != nil {
		// Every other monitor and link has been told: the panic is the
		// ending incarnation's crash report (see endStep).
		panic(failed)
	}
}

// stepPanic is a panic recovered where it happened and raised again once
// the work around it was done, with the stack it had.
type stepPanic struct {
	v     any
	stack string
}

// notify runs a monitor's notify and returns the panic it made, if any.
func notify(f func(string), reason string) (sp *stepPanic) {
	defer func() {
		if v := recover(); v != nil {
			sp = &stepPanic{v: v, stack: truncate(string(debug.Stack()), maxGoStack)}
		}
	}()
	f(reason)
	return nil
}

// revive lets calls reach p again: its supervisor is starting it anew.
func (p *Process) revive() {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	p.life.retired = false
	p.mb.Reopen()
}

// answer answers a call once; later answers are dropped.
func (p *Process) answer(c *callRef, r *reply) {
	p.lifeMu.Lock()
	_, ok := p.life.calls[c]
	delete(p.life.calls, c)
	p.lifeMu.Unlock()
	if ok {
		c.answer(r)
	}
}

// retire marks p stopped for good and fails the calls still waiting on it,
// wherever they are queued.
func (p *Process) retire() {
	p.lifeMu.Lock()
	p.life.retired = true
	if p.dynamic {
		// A dynamic child's slot is gone with it; a child of the tree
		// may be started again, by its supervisor or an operator.
		p.notifySlots(slotFinal, ReasonNoProc)
	}
	calls := p.life.calls
	p.life.calls = nil
	p.mb.Close() // refunds the senders of what will never run
	p.signals.Store(0)
	p.stash.Reset()
	p.lifeMu.Unlock()
	var failed *stepPanic
	for c := range calls {
		r := &reply{incarnation: c.incarnation, id: c.id, err: fmt.Errorf("%w: %s stopped", isolate.ErrNoProc, p.path)}
		if sp := answerGuarded(c, r); sp != nil && failed == nil {
			failed = sp
		}
	}
	if failed != nil {
		panic(failed) // every other caller has its answer (see end)
	}
}

// answerGuarded gives c its answer r and returns the panic that made, if
// any, so that one failing answer does not keep the others from theirs.
func answerGuarded(c *callRef, r *reply) (sp *stepPanic) {
	defer func() {
		if v := recover(); v != nil {
			sp = &stepPanic{v: v, stack: truncate(string(debug.Stack()), maxGoStack)}
		}
	}()
	c.answer(r)
	return nil
}

// monitor makes watcher's incarnation winc watch p and returns the
// reference; if p has no running incarnation the down comes at once.
func (p *Process) monitor(watcher *Process, winc uint64) (uint64, error) {
	ref := p.node.nextRef.Add(1)
	p.lifeMu.Lock()
	if p.life.live == 0 {
		p.lifeMu.Unlock()
		watcher.tell(&downNote{inc: winc, ref: ref, reason: ReasonNoProc})
		return ref, nil
	}
	if p.life.monitors == nil {
		p.life.monitors = make(map[uint64]monitorEntry)
	}
	if len(p.life.monitors) >= maxMonitors {
		// Drop monitors whose watcher incarnation has ended: nobody would
		// receive their down.
		for r, m := range p.life.monitors {
			if m.watcher != nil && (m.watcher.Incarnation() != m.inc || m.watcher.Status() == StatusStopped) {
				delete(p.life.monitors, r)
				uncount(p.life.watching, m)
			}
		}
		if len(p.life.monitors) >= maxMonitors {
			p.lifeMu.Unlock()
			return 0, fmt.Errorf("%w: %s has %d monitors", errTooManyMonitors, p.path, maxMonitors)
		}
	}
	if err := p.shareLeft(&p.life.watching, watcher, winc); err != nil {
		p.lifeMu.Unlock()
		return 0, err
	}
	p.life.monitors[ref] = monitorEntry{watcher: watcher, inc: winc}
	p.lifeMu.Unlock()
	return ref, nil
}

// maxMonitors bounds the monitors on one process, so watchers cannot grow
// its memory without end.
const maxMonitors = 10_000

var errTooManyMonitors = errors.New("too many monitors")

func (p *Process) demonitor(ref uint64) bool {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	m, ok := p.life.monitors[ref]
	sm, slot := p.life.slots[ref]
	if ok {
		delete(p.life.monitors, ref)
		uncount(p.life.watching, m)
	}
	if slot {
		delete(p.life.slots, ref)
		uncount(p.life.slotted, sm)
	}
	return ok || slot
}

// lockPair locks two processes' life in id order.
func lockPair(a, b *Process) func() {
	if a.id > b.id {
		a, b = b, a
	}
	a.lifeMu.Lock()
	if a != b {
		b.lifeMu.Lock()
	}
	return func() {
		if a != b {
			b.lifeMu.Unlock()
		}
		a.lifeMu.Unlock()
	}
}

// link links incarnation ainc of a with b's running incarnation. Linking to
// a process with none sends a an exit signal with reason noproc, as OTP does.
func (a *Process) link(ainc uint64, b *Process) {
	if a == b {
		return
	}
	unlock := lockPair(a, b)
	if b.life.live == 0 || a.life.live != ainc {
		unlock()
		a.tell(&exitSignal{inc: ainc, from: b.path, reason: ReasonNoProc, linked: true})
		return
	}
	if a.life.links == nil {
		a.life.links = make(map[*Process]uint64)
	}
	if b.life.links == nil {
		b.life.links = make(map[*Process]uint64)
	}
	a.life.links[b] = b.life.live
	b.life.links[a] = ainc
	unlock()
}

func (a *Process) unlink(b *Process) {
	unlock := lockPair(a, b)
	defer unlock()
	delete(a.life.links, b)
	delete(b.life.links, a)
}

// errNotWorker is returned for a signal that only workers take.
var errNotWorker = errors.New("the target is a supervisor")

// target is the Go-side choke point for operations on another process
// other than message delivery: it checks that c carries need and that its
// target is a live process of this node.
func (n *Node) target(c *capability.Capability, need capability.Rights, op string) (*Process, error) {
	if err := c.Check(need, op); err != nil {
		n.emit(Denied{Op: op, Err: err})
		return nil, err
	}
	t, ok := c.Target().(*Process)
	if !ok || t.node != n {
		return nil, isolate.ErrNoProc
	}
	switch t.Status() {
	case StatusStopped, StatusFailed:
		return nil, fmt.Errorf("%w: %s", isolate.ErrNoProc, op)
	}
	return t, nil
}

// onExit handles an exit signal on the worker's goroutine.
func (w *worker) onExit(m *exitSignal) {
	trapped := w.trapExits && !m.kill && (m.inc == 0 || m.inc == w.inc)
	if m.counted && !trapped {
		w.proc.signals.Add(-1) // taken up now; a trapped one when its turn starts
	}
	if m.inc != 0 && m.inc != w.inc {
		return // meant for an incarnation that has already ended
	}
	switch {
	case m.kill:
		w.die(ReasonKilled, fmt.Errorf("killed by %s", m.from))
	case trapped:
		w.proc.mb.AddNotice()
		w.proc.stash.PushNotice(&deliver{note: &isolate.Notification{Kind: "exit", From: m.from, Reason: m.reason},
			noteInc: w.inc, counted: m.counted})
	case m.linked && (m.reason == ReasonShutdown || m.reason == ReasonCodeChange) && w.proc.owned.Load():
		// Its owner was stopped in order: an owned child stops in order
		// too, after the current turn (see spawnlink.go).
		if w.stopping == "" {
			w.stopping = ReasonShutdown
		}
	case IsNormal(m.reason):
		// A normal exit signal does not take a process down.
	case m.linked:
		w.die(ReasonLinked, fmt.Errorf("linked process %s exited: %s", m.from, m.reason))
	default:
		w.die("exit:"+m.reason, fmt.Errorf("exit signal from %s: %s", m.from, m.reason))
	}
}

// die ends the incarnation with a typed reason.
func (w *worker) die(reason string, err error) {
	cr := w.newCrash(w.current, err)
	cr.Reason = reason
	if w.current != nil && w.current.call != nil {
		w.proc.answer(w.current.call, &reply{incarnation: w.current.call.incarnation, id: w.current.call.id,
			err: fmt.Errorf("%w: %s", isolate.ErrCalleeCrashed, reason)})
	}
	w.crashWith(cr)
}

// The host's Signaller side: every operation passes Node.target first.

func (h *host) Monitor(c *capability.Capability) (uint64, error) {
	if rp := remoteOf(c); rp != nil {
		return h.monitorRemote(rp, c)
	}
	t, err := h.proc.node.target(c, capability.Monitor, "monitor")
	if err != nil {
		if errors.Is(err, isolate.ErrNoProc) {
			// Monitoring what is gone yields a down with noproc, not a throw.
			if err := h.queueOwnNote("monitor"); err != nil {
				return 0, err
			}
			ref := h.proc.node.nextRef.Add(1)
			h.proc.tell(&downNote{inc: h.inc, ref: ref, reason: ReasonNoProc, counted: true})
			return ref, nil
		}
		return 0, err
	}
	return t.monitor(h.proc, h.inc)
}

// queueOwnNote admits a notification that a script's own call queues for
// it (a noproc down or exit), which bypasses its mailbox's admission: it is
// counted with the exit signals waiting there, by the same bound as
// messages, and refused past it with ErrTooManyNotifications (a RangeError
// in the script), as a full mailbox would refuse a message.
func (h *host) queueOwnNote(op string) error {
	p := h.proc
	if p.signals.Add(1) > int64(p.mb.Limits().Messages) {
		p.signals.Add(-1)
		err := fmt.Errorf("%s: %w: %d notifications and exit signals are waiting; the mailbox limit is %d",
			op, isolate.ErrTooManyNotifications, p.mb.Limits().Messages, p.mb.Limits().Messages)
		p.node.emit(LimitHit{Path: p.path, Limit: "mailbox", Err: err})
		return err
	}
	return nil
}

func (h *host) Demonitor(c *capability.Capability, ref uint64) bool {
	if rp := remoteOf(c); rp != nil {
		return h.proc.node.check(c, capability.Monitor, "demonitor") == nil && h.proc.node.remote.demonitor(ref, h.proc)
	}
	t, err := h.proc.node.target(c, capability.Monitor, "demonitor")
	if err != nil {
		return false
	}
	return t.demonitor(ref)
}

func (h *host) Link(c *capability.Capability) error {
	if rp := remoteOf(c); rp != nil {
		return h.linkRemote(rp, c)
	}
	t, err := h.proc.node.target(c, capability.Link, "link")
	if errors.Is(err, isolate.ErrNoProc) {
		from := ""
		if p, ok := c.Target().(*Process); ok {
			from = p.path
		}
		if err := h.queueOwnNote("link"); err != nil {
			return err
		}
		h.proc.tell(&exitSignal{inc: h.inc, from: from, reason: ReasonNoProc, linked: true, counted: true})
		return nil
	}
	if err != nil {
		return err
	}
	if t.kind != KindWorker {
		return fmt.Errorf("link: %w", errNotWorker)
	}
	h.proc.link(h.inc, t)
	return nil
}

func (h *host) Unlink(c *capability.Capability) error {
	if rp := remoteOf(c); rp != nil {
		if err := h.proc.node.check(c, capability.Link, "unlink"); err != nil {
			return err
		}
		h.proc.node.remote.unlink(rp, h.proc)
		return nil
	}
	t, err := h.proc.node.target(c, capability.Link, "unlink")
	if errors.Is(err, isolate.ErrNoProc) {
		return nil
	}
	if err != nil {
		return err
	}
	h.proc.unlink(t)
	return nil
}

func (h *host) Exit(c *capability.Capability, reason string) error {
	return h.signalExit(c, capability.Exit, "exit", &exitSignal{from: h.proc.path, reason: reason})
}

func (h *host) Kill(c *capability.Capability) error {
	return h.signalExit(c, capability.Kill, "kill", &exitSignal{from: h.proc.path, reason: ReasonKilled, kill: true})
}

func (h *host) signalExit(c *capability.Capability, need capability.Rights, op string, s *exitSignal) error {
	return h.proc.node.signalExit(c, need, op, s)
}

// signalExit sends a script's or a Go actor's exit or kill signal s to the
// live incarnation of c's target. Signals bypass the mailbox's admission,
// so they are bounded on their own, by the same number of messages.
func (n *Node) signalExit(c *capability.Capability, need capability.Rights, op string, s *exitSignal) error {
	if rp := remoteOf(c); rp != nil {
		if err := n.check(c, need, op); err != nil {
			return err
		}
		return n.remote.exit(rp, c, s)
	}
	t, err := n.target(c, need, op)
	if err != nil {
		return err
	}
	if t.kind != KindWorker {
		return fmt.Errorf("%s: %w", op, errNotWorker)
	}
	t.lifeMu.Lock()
	s.inc = t.life.live
	t.lifeMu.Unlock()
	if s.inc == 0 {
		return nil // between incarnations: the one that ended already took its signal
	}
	if t.signals.Add(1) > int64(t.mb.Limits().Messages) {
		t.signals.Add(-1)
		err := fmt.Errorf("%w: %s has %d exit signals waiting", isolate.ErrMailboxFull, t.path, t.mb.Limits().Messages)
		n.emit(LimitHit{Path: t.path, Limit: "mailbox", Err: err})
		return err
	}
	s.counted = true
	t.tell(s)
	return nil
}

// Denied implements isolate.DenialReporter: a refusal in the script counts
// like one at the node's choke points.
func (h *host) Denied(op string, err error) {
	h.w().report(Denied{Op: op, Err: err, Path: h.proc.path})
}

// LimitHit implements isolate.LimitReporter.
func (h *host) LimitHit(limit string, err error) {
	h.w().report(LimitHit{Path: h.proc.path, Limit: limit, Err: err})
}

func (h *host) TrapExits(on bool) bool {
	old := h.trapExits
	h.trapExits = on
	return old
}

var errInspectFromInspect = errors.New("inspect: cannot be called from inside inspect()")

// maxInspects bounds a process's cap.inspect() requests awaiting answers.
const maxInspects = 16

// runInspect runs the script's inspect(), during which it may not inspect
// others.
func (w *worker) runInspect() (*mailbox.Envelope, error) {
	w.inspecting = true
	defer func() { w.inspecting = false }()
	if w.gate != nil {
		defer w.iso.DiscardStorage() // inspect reads; it does not write
	}
	return w.iso.Inspect()
}

// ErrInspectCapability refuses an inspect() answer that holds capabilities:
// the inspect right shows state, it does not hand out authority.
var ErrInspectCapability = errors.New("inspect: the answer holds capabilities, which inspect does not hand out")

// Inspect implements isolate.Signaller: it asks the target worker, between
// its turns, for the answer of its inspect() export.
func (h *host) Inspect(c *capability.Capability) (uint64, error) {
	if h.inspecting {
		// inspect() asking for another inspect() would chain without end.
		return 0, errInspectFromInspect
	}
	if rp := remoteOf(c); rp != nil {
		return h.inspectRemote(rp, c)
	}
	t, err := h.proc.node.target(c, capability.Inspect, "inspect")
	if err != nil {
		return 0, err
	}
	if t.kind != KindWorker {
		return 0, fmt.Errorf("inspect: %w", errNotWorker)
	}
	w := h.w()
	// Inspect requests skip the target's mailbox limits (they run between
	// its turns), so each asker may have only a few outstanding.
	if len(w.inspects) >= maxInspects {
		err := fmt.Errorf("%w: %d inspect requests are awaiting an answer", isolate.ErrMailboxFull, maxInspects)
		h.proc.node.emit(LimitHit{Path: h.proc.path, Limit: "inspects", Err: err})
		return 0, err
	}
	w.nextID++
	id, inc, proc := w.nextID, w.inc, w.proc
	answer := func(env *mailbox.Envelope, err error) {
		proc.tell(&reply{incarnation: inc, id: id, env: env, err: err})
	}
	if w.inspects == nil {
		w.inspects = make(map[uint64]struct{})
	}
	w.inspects[id] = struct{}{}
	t.tell(&inspectRequest{then: answer})
	w.awaitCall(id, time.AfterFunc(isolate.DefaultCallTimeout, func() {
		answer(nil, fmt.Errorf("%w: inspect after %v", isolate.ErrCallTimeout, isolate.DefaultCallTimeout))
	}))
	return id, nil
}

// inspectFor runs inspect() for a script's cap.inspect() and hands on the
// copy of the answer. A throw or an interrupt in inspect() is the asker's
// error, not this incarnation's crash.
func (w *worker) inspectFor(then func(*mailbox.Envelope, error)) {
	if w.iso == nil {
		then(nil, fmt.Errorf("%w: between incarnations", isolate.ErrNoProc))
		return
	}
	env, err := w.runInspect()
	switch {
	case err != nil:
		then(nil, fmt.Errorf("inspect: %w", err))
	case env == nil:
		then(nil, ErrNoInspect)
	case len(env.Caps()) > 0:
		then(nil, ErrInspectCapability)
	default:
		then(env, nil)
	}
}
