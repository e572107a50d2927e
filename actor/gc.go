package actor

import (
	"os"
	"runtime/debug"
)

// DefaultGCPercent is the garbage collector's target a node sets for the
// process unless told otherwise (see Options.GCPercent). A node's live heap
// is small next to what its turns allocate and drop — decoded messages,
// request objects, promises — so at Go's default of 100 the collector runs
// nearly all the time: in the throughput and HTTP benchmarks (see
// docs/benchmarks.md) 400 cut GC work by about half. The cost is memory: up
// to five times the live heap between collections instead of twice.
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

// applyGC sets the process's GC target for a node. pct > 0 is the target;
// pct == 0 means DefaultGCPercent unless the GOGC environment variable is
// set (an operator's GOGC always wins over the default); pct < 0 leaves the
// runtime's setting alone. The setting is the process's, not the node's:
// with several nodes in one process the last one made decides.
func applyGC(pct int) {
	switch {
	case pct < 0:
		return
	case pct == 0:
		if _, set := os.LookupEnv("GOGC"); set {
			return
		}
		pct = DefaultGCPercent
	}
	debug.SetGCPercent(pct)
}
