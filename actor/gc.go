package actor

import (
	"os"
	"runtime/debug"
)

// DefaultGCPercent is the garbage collector's target `cloister run` sets
// for its process (see Options.GCPercent). A node's live heap is small
// next to what its turns allocate and drop — decoded messages, request
// objects, promises — so at Go's default of 100 the collector runs nearly
// all the time: in the throughput and HTTP benchmarks (see
// docs/benchmarks.md) 400 cut GC work by about half. The cost is memory: up
// to five times the live heap between collections instead of twice. A
// program that embeds a node opts in with Options.GCPercent; NewNode never
// changes the process's collector on its own.
const DefaultGCPercent = 400

// applyMemoryLimit sets the process's soft memory limit (as GOMEMLIMIT)
// for a node when limit > 0; otherwise the runtime's setting, from
// GOMEMLIMIT or none, stays. With the raised GC target the heap may grow to
// five times its live size between collections; a soft limit makes the
// collector run sooner as the heap nears it, whatever the target.
func applyMemoryLimit(limit int64) {
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
}

// applyGC sets the process's GC target for a node when pct > 0; otherwise
// the runtime's setting (GOGC's, or Go's default) stays. The setting is the
// process's, not the node's: with several nodes in one process the last one
// made with a target decides.
func applyGC(pct int) {
	if pct > 0 {
		debug.SetGCPercent(pct)
	}
}

// GCPercentFor is the target a node's command should ask for: its own
// choice unless the GOGC environment variable is set, in which case 0,
// so that an operator's GOGC wins.
func GCPercentFor(pct int) int {
	if _, set := os.LookupEnv("GOGC"); set {
		return 0
	}
	return pct
}
