package actor

import (
	"errors"
	"log/slog"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
)

// A process's console lines are paid for from a budget of bytes that
// refills with time, so that one tenant cannot flood the node's log,
// bury its neighbours' lines, or hold the log's writer for a whole turn.
// A line costs its length plus consoleLineCost (the line's time, level,
// process and incarnation); a line the budget cannot pay for is dropped.
// The node says when a process starts to lose lines, and how many it lost
// when its lines get through again.
const (
	consoleBurst    = 1 << 20   // bytes a quiet process may write at once
	consoleRate     = 128 << 10 // bytes per second the budget regains
	consoleLineCost = 128

	// consoleResume is how long a flooding process goes without a line.
	consoleResume = time.Second * consoleBurst / 2 / consoleRate
)

// consoleEpoch is where the budgets' monotonic clock starts.
var consoleEpoch = time.Now()

// consoleBudget is an incarnation's console budget; see consoleBurst.
type consoleBudget struct {
	bucket
	dropped int64 // lines dropped since the last one written
}

// bucket is what a process may still put out: avail units, regained at a
// rate up to a burst.
type bucket struct {
	avail int64
	at    int64 // nanoseconds since consoleEpoch of the last refill
}

// refill brings b up to date at now. A new bucket starts full.
func (b *bucket) refill(now, burst, rate int64) {
	// Refilled at most once a millisecond, so that frequent takes do not
	// each round their refill down to nothing.
	if d := now - b.at; b.at == 0 || d >= int64(time.Second)*burst/rate {
		b.avail, b.at = burst, now
	} else if d >= int64(time.Millisecond) {
		b.avail, b.at = min(burst, b.avail+d*rate/int64(time.Second)), now
	}
}

// consoleNow is the budgets' clock, never 0.
func consoleNow() int64 { return int64(time.Since(consoleEpoch)) + 1 }

// consoleAllows takes the cost of a line of n bytes from w's budget and
// says whether the line may be written, logging the start and the end of
// a run of dropped lines.
func (w *worker) consoleAllows(n int) bool {
	b := w.console
	if b == nil {
		b = &consoleBudget{}
		w.console = b // made on first use: most processes never log
	}
	b.refill(consoleNow(), consoleBurst, consoleRate)
	cost := int64(n) + consoleLineCost
	log := w.proc.node.log
	// A process losing lines gets them through again once half its burst
	// is back, not line by line as the budget refills: the node's notes
	// come at most once per consoleResume of a steady flood.
	if b.avail < cost || b.dropped > 0 && b.avail < consoleBurst/2 {
		if b.dropped == 0 {
			log.Warn("dropping console lines: over the process's console budget",
				keyProcess, w.proc.path, keyIncarnation, w.inc, keySource, "node")
			w.report(LimitHit{Path: w.proc.path, Limit: "console", Err: errConsoleBudget})
		}
		b.dropped++
		return false
	}
	b.avail -= cost
	if b.dropped > 0 {
		w.sayDropped(b)
	}
	return true
}

// errConsoleBudget is the error of a LimitHit for dropped console lines.
var errConsoleBudget = consoleBudgetError{}

type consoleBudgetError struct{}

func (consoleBudgetError) Error() string {
	return "console: lines dropped over the budget of 1 MiB at once, 128 KiB a second"
}

// Log writes one console line of the script's to the node's log, if its
// budget allows.
func (h *host) Log(level slog.Level, msg string) {
	if !h.w().consoleAllows(len(msg)) {
		return
	}
	h.proc.node.log.Log(nil, level, msg, keyProcess, h.proc.path, keyIncarnation, h.inc, keySource, "console")
}

// Refusals a script provokes (a capability denied, a timer or deferred
// reply past its limit) are node events, queued for every subscriber of
// the node, its log and metrics among them, in queues all processes
// share. An incarnation reports at most refusalBurst of them at once and
// refusalRate a second; the rest are counted, and the count is logged when
// it reports again, so that one tenant's loop of refusals cannot push
// other processes' events out of the queues.
const (
	refusalBurst = 100
	refusalRate  = 20
)

// refusalBudget is an incarnation's budget of reported refusals.
type refusalBudget struct {
	bucket
	unreported int64
}

// report emits e, a refusal w's script provoked, if its budget allows.
func (w *worker) report(e Event) {
	b := w.refusals
	if b == nil {
		b = &refusalBudget{}
		w.refusals = b
	}
	b.refill(consoleNow(), refusalBurst, refusalRate)
	if b.avail < 1 {
		b.unreported++
		if rc, ok := w.proc.node.observerOf().(RefusalCounter); ok {
			rc.Unreported(e)
		}
		return
	}
	b.avail--
	if b.unreported > 0 {
		w.sayUnreported(b)
	}
	w.proc.node.emit(e)
}

// flushBudgets logs, as the incarnation ends, the console lines and the
// refusals its budgets dropped that no later line or report has counted
// yet: a flood that ends with its incarnation is still told.
func (w *worker) flushBudgets() {
	if b := w.console; b != nil && b.dropped > 0 {
		w.sayDropped(b)
	}
	if b := w.refusals; b != nil && b.unreported > 0 {
		w.sayUnreported(b)
	}
}

// sayDropped logs how many console lines b dropped, and starts the count
// again.
func (w *worker) sayDropped(b *consoleBudget) {
	w.proc.node.log.Warn("console lines dropped", "dropped", b.dropped,
		keyProcess, w.proc.path, keyIncarnation, w.inc, keySource, "node")
	b.dropped = 0
}

// sayUnreported logs how many refusals b left unreported, and starts the
// count again.
func (w *worker) sayUnreported(b *refusalBudget) {
	w.proc.node.log.Warn("refusals not reported: over the process's budget of reported refusals", "unreported", b.unreported,
		keyProcess, w.proc.path, keyIncarnation, w.inc, keySource, "node")
	b.unreported = 0
}

// signal sends d for the script through the node's choke point (need is
// send). A refusal by the target's mailbox or the sender's outbox is a
// LimitHit reported against the incarnation's budget, as the script's
// other refusals are: a loop of sends to a full mailbox cannot fill the
// node's event queues either.
func (w *worker) signal(c *capability.Capability, op string, d *deliver) error {
	d.byScript = true
	err := w.sent(w.proc.node.signal(c, capability.Send, op, d))
	if d.refused {
		d.refused = false
		var le *mailbox.LimitError
		if errors.As(err, &le) {
			w.report(LimitHit{Path: le.Name, Limit: le.Limit, Err: err})
		}
	}
	return err
}
