package actor

import "time"

// SetRunSlice sets how long a pinned run of n's keeps its CPU before it
// yields (yieldAfter); n must have started.
func SetRunSlice(n *Node, d time.Duration) { n.dispatch.slice.Store(int64(d)) }

// RunYields counts the CPUs n's pinned runs have given up so far.
func RunYields(n *Node) uint64 { return n.dispatch.yields.Load() }
