// Package pretouch faults a process's Go heap in before it is needed, the
// way the JVM's AlwaysPreTouch does: a program that will soon allocate
// many megabytes (a node spawning thousands of actors) pays for the first
// touch of each page up front, in one pass, instead of one page fault at a
// time on its hot path.
//
// The touched memory is handed back to the Go heap at once: the next
// allocations take pages that are already resident. Go's scavenger
// returns free pages it thinks the heap will not need to the kernel; with
// GODEBUG=madvdontneed=0 (set in the environment when the process starts:
// the runtime reads that setting only then) it does so with MADV_FREE and
// a returned page stays mapped until the system runs short of memory.
//
// Everything here is process-wide and happens once per process.
package pretouch

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Result is what a process's pre-touch did.
type Result struct {
	// Bytes is how much heap was touched, one write per page.
	Bytes int64
	// Faults is the minor page faults the process took while touching,
	// from getrusage; with huge pages, far fewer than Bytes/page size.
	Faults int64
	// CPU is the process's CPU time (user and system) the pre-touch took,
	// the collection that takes the block back included.
	CPU time.Duration
	// HugePages is whether the touched range was advised for transparent
	// huge pages while it was touched (Linux, THP in madvise mode).
	HugePages bool
	// LazyFree is whether the runtime hands free pages back with
	// MADV_FREE (GODEBUG madvdontneed=0 at start), so that a page its
	// scavenger returns stays resident until memory runs short.
	LazyFree bool
}

var (
	mu   sync.Mutex
	ran  bool
	last Result
)

// Heap touches n bytes of fresh Go heap, then lets the collector take them
// back as free pages; only the process's first call with n > 0 does
// anything, later calls return its result. Any call refuses n above the
// soft memory limit or half the machine's memory. Safe for concurrent use.
func Heap(n int64) (Result, error) {
	if n <= 0 {
		return Done(), nil
	}
	if lim := debug.SetMemoryLimit(-1); n > lim {
		return Result{}, fmt.Errorf("pretouch %d bytes: more than the memory limit of %d", n, lim)
	}
	if total := physicalMemory(); total > 0 && n > total/2 {
		return Result{}, fmt.Errorf("pretouch %d bytes: more than half the machine's %d", n, total)
	}
	mu.Lock()
	defer mu.Unlock()
	if ran {
		return last, nil
	}
	ran = true
	last = touch(n)
	return last, nil
}

// Done returns the process's pre-touch, or the zero Result if none ran.
// Safe for concurrent use.
func Done() Result {
	mu.Lock()
	defer mu.Unlock()
	return last
}

// LazyFree reports whether GODEBUG, as the process started with it, makes
// the runtime return free pages with MADV_FREE (madvdontneed=0). The
// runtime reads that setting only at start: changing the variable later
// changes nothing.
func LazyFree() bool { return lazyFree(startGODEBUG) }

// startGODEBUG is GODEBUG as the process started with it.
var startGODEBUG = os.Getenv("GODEBUG")

// lazyFree reports whether the GODEBUG value env sets madvdontneed=0 (the
// last setting wins, as in the runtime).
func lazyFree(env string) bool {
	if runtime.GOOS != "linux" {
		return false // MADV_FREE is the BSDs' default; only Linux is measured here
	}
	return godebugValue(env, "madvdontneed") == "0"
}

// godebugValue is key's value in the GODEBUG value env: the last setting
// wins, as in the runtime; "" if env does not set key.
func godebugValue(env, key string) string {
	val := ""
	for _, f := range strings.Split(env, ",") {
		if k, v, ok := strings.Cut(f, "="); ok && k == key {
			val = v
		}
	}
	return val
}

func touch(n int64) Result {
	f0, c0 := usage()
	r := Result{Bytes: n, LazyFree: LazyFree()}
	b := make([]byte, n)
	r.HugePages = adviseHuge(b)
	page := os.Getpagesize()
	for i := 0; i < len(b); i += page {
		b[i] = 1
	}
	unadviseHuge(b, r.HugePages)
	runtime.KeepAlive(b)
	b = nil
	runtime.GC() // the block's pages go back to the heap, free and resident
	f1, c1 := usage()
	r.Faults, r.CPU = f1-f0, c1-c0
	return r
}
