package actor

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/storage"
)

// ReasonStorage ends an incarnation whose turn's writes could not be
// committed.
const ReasonStorage = "storage"

// ErrNoStorage is a process granted storage on a node without a backend.
var ErrNoStorage = errors.New("the process is granted storage but the node has no storage backend")

// Bounds on what the output gate holds for one turn.
const (
	maxGatedEffects = 4096     // sends, calls and answers
	maxGatedBytes   = 64 << 20 // their message bytes
)

// The output gate. A process granted storage buffers its turn's writes
// (isolate.CommitStorage); everything the turn does that another process
// can observe — a send, a call, the answer to the call that started the
// turn — is held here and released only once those writes are committed.
// If the commit fails, the held effects are dropped (a held answer becomes
// a crash answer) and the incarnation crashes with ReasonStorage. So no
// process ever sees a message that refers to state that was then lost.
//
// Timers need no gate: a timer fires as a message to the process itself,
// which it handles only after the current turn has been settled, and a
// crash ends the incarnation whose timers they are.
//
// A turn, for the gate, is every run of the script between two waits:
// receive (or init, notify, a timer callback) up to its return or its
// first await, then each continuation after an awaited reply.
type gate struct {
	store   *storage.Store
	held    []heldEffect
	spare   []heldEffect // the other buffer for held, reused turn after turn
	answers []gatedAnswer
	bytes   int
}

// heldEffect is a send or a call's request held until the turn commits.
type heldEffect struct {
	c    *capability.Capability
	d    *deliver
	call bool
}

// maxSpareHeld bounds the held buffer a gate keeps between turns.
const maxSpareHeld = 64

type gatedAnswer struct {
	call *callRef
	r    *reply
}

// hold adds an effect of size bytes; it fails when the turn holds too much.
func (g *gate) hold(size int, e heldEffect) error {
	if len(g.held)+len(g.answers) >= maxGatedEffects || g.bytes+size > maxGatedBytes {
		return fmt.Errorf("%w: a turn of a process with storage may hold at most %d messages (%d bytes) until it commits",
			isolate.ErrMailboxFull, maxGatedEffects, maxGatedBytes)
	}
	g.bytes += size
	g.held = append(g.held, e)
	return nil
}

// takeHeld returns the held effects and empties the gate's list; done
// gives the list back once its effects have been released.
func (g *gate) takeHeld() []heldEffect {
	held := g.held
	g.held, g.spare, g.bytes = g.spare[:0], nil, 0
	return held
}

func (g *gate) done(held []heldEffect) {
	clear(held)
	if cap(held) <= maxSpareHeld && g.spare == nil {
		g.spare = held[:0]
	}
}

// release delivers a held effect; a call whose request cannot be
// delivered is rejected in its caller.
func (w *worker) release(e heldEffect) {
	if !e.call {
		_ = w.signal(e.c, "send", e.d)
		return
	}
	if err := w.signal(e.c, "call", e.d); err != nil {
		w.proc.tell(&reply{incarnation: e.d.call.incarnation, id: e.d.call.id, err: err})
	}
}

// openStorage opens the slot's store for a new incarnation, or returns
// nil when the process has no storage.
func (w *worker) openStorage() (*storage.Store, error) {
	p := w.proc
	if !p.spec.Storage {
		return nil, nil
	}
	if p.node.storage == nil {
		return nil, fmt.Errorf("%s: %w", p.path, ErrNoStorage)
	}
	st, err := storage.Open(p.node.storage, p.path, p.spec.StorageQuota)
	if err != nil {
		return nil, err
	}
	w.gate = &gate{store: st}
	if so := p.node.storageObserver(); so != nil {
		st.OnQuotaRefusal(func() { so.QuotaRefused(p) })
	}
	p.storageUse.Store(&storageUse{Usage: st.Usage(), Quota: st.Quota()})
	return st, nil
}

// settle ends a turn of a process with storage: it commits the turn's
// writes, then releases what the turn held back. A failed commit crashes
// the incarnation.
func (w *worker) settle() {
	if w.gate == nil || w.iso == nil {
		return
	}
	if err := w.commit(); err != nil {
		w.proc.node.emit(LimitHit{Path: w.proc.path, Limit: ReasonStorage, Err: err})
		w.fail(w.current, ReasonStorage, fmt.Errorf("storage commit failed: %w", err))
	}
	g := w.gate
	if u := g.store.Usage(); *w.proc.storageUse.Load() != (storageUse{Usage: u, Quota: g.store.Quota()}) {
		w.proc.storageUse.Store(&storageUse{Usage: u, Quota: g.store.Quota()})
	}
	held, answers := g.takeHeld(), g.answers
	g.answers = nil
	for _, e := range held {
		w.release(e)
	}
	g.done(held)
	for _, a := range answers {
		w.proc.answer(a.call, a.r)
	}
	w.rearm()
}

// commit commits the turn's writes, telling the storage observer, if any,
// about a turn that had writes.
func (w *worker) commit() error {
	so := w.proc.node.storageObserver()
	if so == nil || !w.iso.StorageDirty() {
		return w.iso.CommitStorage()
	}
	start := time.Now()
	err := w.iso.CommitStorage()
	so.Committed(w.proc, time.Since(start), err)
	return err
}

// gateAbort drops the turn's uncommitted writes and held effects, as the
// incarnation ends with reason: held answers become crash answers.
func (w *worker) gateAbort(reason string) {
	if w.gate == nil {
		return
	}
	if w.iso != nil {
		w.iso.DiscardStorage()
	}
	g := w.gate
	answers := g.answers
	g.done(g.takeHeld())
	g.answers = nil
	for _, a := range answers {
		w.proc.answer(a.call, &reply{incarnation: a.r.incarnation, id: a.r.id,
			err: fmt.Errorf("%w: %s", isolate.ErrCalleeCrashed, reason)})
	}
}

// answerGated answers a call now, or after the turn commits.
func (w *worker) answerGated(c *callRef, r *reply) {
	if w.gate == nil {
		w.proc.answer(c, r)
		return
	}
	w.gate.answers = append(w.gate.answers, gatedAnswer{call: c, r: r})
}

// gatedSend holds a send until the turn commits. The capability is
// checked now, so a missing right still throws in the sender; a delivery
// that fails later (the target gone, its mailbox full) is dropped, as a
// sendAfter's is.
func (w *worker) gatedSend(c *capability.Capability, msg *mailbox.Envelope) error {
	n, d := w.proc.node, &deliver{env: msg, from: w.proc}
	if c.Check(capability.Send, "send") != nil {
		return n.signal(c, capability.Send, "send", d) // refuses it and reports the denial
	}
	return w.gate.hold(msg.Size(), heldEffect{c: c, d: d})
}

// gatedCall holds a call's request until the turn commits; a delivery
// that fails then rejects the call's promise.
func (w *worker) gatedCall(c *capability.Capability, d *deliver) error {
	if c.Check(capability.Send, "call") != nil {
		return w.proc.node.signal(c, capability.Send, "call", d)
	}
	return w.gate.hold(d.env.Size(), heldEffect{c: c, d: d, call: true})
}

// settleLast commits what terminate wrote as the incarnation ends in
// order, unless terminate failed (termErr): then, as for a crashed turn,
// nothing it wrote or sent is kept. A failed commit is logged, as the
// incarnation is ending anyway.
func (w *worker) settleLast(termErr error) {
	if w.gate == nil || w.iso == nil {
		return
	}
	if termErr != nil {
		w.gateAbort(ReasonKilled)
		return
	}
	if err := w.commit(); err != nil {
		w.proc.node.log.Warn("storage commit after terminate failed", keyProcess, w.proc.path, keyError, err)
		w.gateAbort(ReasonStorage)
		return
	}
	held := w.gate.takeHeld()
	for _, e := range held {
		w.release(e)
	}
	w.gate.done(held)
}

// Alarms. A process with storage has at most one alarm, stored with its
// data and set or deleted by a turn's commit. The worker keeps a timer for
// the committed alarm; when it fires, the alarm export runs as a turn of
// its own once no turn is awaiting. A run that returns deletes the alarm
// (unless it set a new one); a run that throws crashes the incarnation like
// any uncaught error, and the process keeps the count of failed runs: the
// next incarnation runs it again, with info.retryCount, after a backoff.
// An alarm that came due while the node was down runs when the process
// starts. So an alarm runs at least once.

// Alarm retry backoff: the first retry waits alarmBackoff, each next one
// twice as long, up to maxAlarmBackoff.
const (
	alarmBackoff    = 100 * time.Millisecond
	maxAlarmBackoff = 5 * time.Minute
)

type alarmFire struct {
	inc uint64
	at  time.Time
}

// alarmState is what a process keeps of its alarm across incarnations.
type alarmState struct {
	retries  int       // failed runs of the current alarm
	failedAt time.Time // the last failure
}

// workerAlarm is an incarnation's timer for its committed alarm.
type workerAlarm struct {
	timer *time.Timer
	armed time.Time // the alarm the timer is for; zero when none
	due   *alarmFire
}

func alarmDelay(retries int) time.Duration {
	d := alarmBackoff
	for i := 1; i < retries && d < maxAlarmBackoff; i++ {
		d *= 2
	}
	return min(d, maxAlarmBackoff)
}

// rearm sets the timer for the committed alarm after a commit.
func (w *worker) rearm() {
	at, ok := w.gate.store.CommittedAlarm()
	if !ok {
		w.stopAlarm()
		return
	}
	if w.alarm.timer != nil && at.Equal(w.alarm.armed) {
		return
	}
	w.stopAlarm()
	delay := time.Until(at)
	if st := w.proc.alarm; st.retries > 0 {
		delay = max(delay, time.Until(st.failedAt.Add(alarmDelay(st.retries))))
	}
	proc, m := w.proc, &alarmFire{inc: w.inc, at: at}
	w.alarm.armed = at
	w.alarm.timer = time.AfterFunc(max(delay, 0), func() { proc.tell(m) })
}

func (w *worker) stopAlarm() {
	if w.alarm.timer != nil {
		w.alarm.timer.Stop()
		w.alarm.timer = nil
	}
	w.alarm.armed = time.Time{}
	w.alarm.due = nil
}

// runDueAlarm runs the alarm export for an alarm that has come due, once
// no turn is awaiting.
func (w *worker) runDueAlarm() {
	m := w.alarm.due
	if m == nil || w.gate == nil || w.iso == nil || w.iso.Busy() || w.stopping != "" {
		return
	}
	w.alarm.due = nil
	w.alarm.timer, w.alarm.armed = nil, time.Time{}
	at, ok := w.gate.store.CommittedAlarm()
	if !ok || !at.Equal(m.at) {
		w.rearm() // changed since the timer was set
		return
	}
	info := isolate.AlarmInfo{ScheduledTime: at, RetryCount: w.proc.alarm.retries}
	if so := w.proc.node.storageObserver(); so != nil {
		so.AlarmRan(w.proc, info.RetryCount)
	}
	w.current = nil
	w.iso.Alarm(info, func(o isolate.Outcome) { w.alarmDone(at, o) })
	w.check(nil)
}

// alarmDone ends an alarm turn: a success deletes the alarm it ran for,
// a failure is counted for the retry.
func (w *worker) alarmDone(at time.Time, o isolate.Outcome) {
	if o.Crash != nil {
		w.proc.alarm = alarmState{retries: w.proc.alarm.retries + 1, failedAt: time.Now()}
		w.crash = w.newCrash(nil, o.Crash)
		return
	}
	w.proc.alarm = alarmState{}
	if cur, ok := w.gate.store.Alarm(); ok && cur.Equal(at) {
		w.gate.store.DeleteAlarm() // committed with the turn's writes
	}
}

// StorageObserver is implemented by an Observer (Node.Observe) that also
// wants storage measurements; metrics is its consumer. Its methods run on
// the goroutine of the process concerned and must not block.
type StorageObserver interface {
	// Committed is called after a turn of p that had storage writes was
	// committed (err nil) or failed to be; d is the commit's duration.
	Committed(p *Process, d time.Duration, err error)
	// AlarmRan is called when p's alarm handler starts a run; retry is
	// the run's info.retryCount (0 for the first run of an alarm).
	AlarmRan(p *Process, retry int)
	// QuotaRefused is called when a storage write of p is refused for
	// its quota.
	QuotaRefused(p *Process)
}

func (n *Node) storageObserver() StorageObserver {
	so, _ := n.observerOf().(StorageObserver)
	return so
}

// StorageBackend returns the node's storage backend (Options.Storage),
// or nil.
func (n *Node) StorageBackend() storage.Backend { return n.storage }

// storageUse is what a process's storage holds, and its quota.
type storageUse struct {
	storage.Usage
	Quota int64
}

// StorageUsage returns what p's storage held at its last commit (bytes
// counted against the quota, and keys) and its quota; ok is false for a
// process without storage or one that has not started.
func (p *Process) StorageUsage() (u storage.Usage, quota int64, ok bool) {
	s := p.storageUse.Load()
	if s == nil {
		return storage.Usage{}, 0, false
	}
	return s.Usage, s.Quota, true
}
