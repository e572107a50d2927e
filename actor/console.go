package actor

import (
	"log/slog"
	"time"
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
	avail   int64 // bytes the process may still write
	at      int64 // nanoseconds since consoleEpoch of the last refill
	dropped int64 // lines dropped since the last one written
}

// consoleAllows takes the cost of a line of n bytes from w's budget and
// says whether the line may be written, logging the start and the end of
// a run of dropped lines.
func (w *worker) consoleAllows(n int) bool {
	now := int64(time.Since(consoleEpoch))
	b := w.console
	if b == nil {
		b = &consoleBudget{avail: consoleBurst, at: now}
		w.console = b // made on first use: most processes never log
	}
	// Refilled at most once a millisecond, so that frequent lines do not
	// each round their refill down to nothing.
	if d := now - b.at; d >= int64(time.Second) {
		b.avail, b.at = consoleBurst, now
	} else if d >= int64(time.Millisecond) {
		b.avail, b.at = min(consoleBurst, b.avail+d*consoleRate/int64(time.Second)), now
	}
	cost := int64(n) + consoleLineCost
	log := w.proc.node.log
	// A process losing lines gets them through again once half its burst
	// is back, not line by line as the budget refills: the node's notes
	// come at most once per consoleResume of a steady flood.
	if b.avail < cost || b.dropped > 0 && b.avail < consoleBurst/2 {
		if b.dropped == 0 {
			log.Warn("dropping console lines: over the process's console budget",
				keyProcess, w.proc.path, keyIncarnation, w.inc, keySource, "node")
			w.proc.node.emit(LimitHit{Path: w.proc.path, Limit: "console", Err: errConsoleBudget})
		}
		b.dropped++
		return false
	}
	b.avail -= cost
	if b.dropped > 0 {
		log.Warn("console lines dropped", "dropped", b.dropped,
			keyProcess, w.proc.path, keyIncarnation, w.inc, keySource, "node")
		b.dropped = 0
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
