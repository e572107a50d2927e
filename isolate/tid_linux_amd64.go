//go:build linux && amd64 && go1.26 && !go1.27

package isolate

import (
	"unsafe"

	"github.com/cloister-rt/cloister/internal/rtg"
)

// The Go runtime learns each thread's id once, when the thread starts
// (minit calls gettid), and keeps it in m.procid. A turn reads it from
// there, through the running goroutine's g and its g.m, instead of asking
// the kernel: a system call each time a mailbox run or an unpinned turn
// starts. The offsets are those of go1.26's runtime2.go; the build tags
// keep other Go versions on the system call, TestThreadID_RuntimeLayout
// checks them against the binary's debug information, and threadIDs
// checks them against gettid as the process starts.
const (
	gOffM      = 48 // g.m: after stack (2 words), stackguard0, stackguard1, _panic, _defer
	mOffG0     = 0  // m.g0
	mOffProcid = 64 // m.procid: after g0, morebuf (a 6-word gobuf), divmod and padding
)

// curG is the running goroutine's g.
func curG() unsafe.Pointer { return rtg.G() }

// runtimeThreadID is the calling thread's id as the runtime noted it. The
// goroutine must be locked to its thread for the id to stay its own.
func runtimeThreadID() int {
	m := *(*unsafe.Pointer)(unsafe.Add(curG(), gOffM))
	return int(*(*uint64)(unsafe.Add(m, mOffProcid)))
}

// runtimeThreadShape reports whether the g and m the offsets find hang
// together: the m's scheduling goroutine g0 names the same m.
func runtimeThreadShape() bool {
	m := *(*unsafe.Pointer)(unsafe.Add(curG(), gOffM))
	if m == nil {
		return false
	}
	g0 := *(*unsafe.Pointer)(unsafe.Add(m, mOffG0))
	return g0 != nil && *(*unsafe.Pointer)(unsafe.Add(g0, gOffM)) == m
}

const runtimeThreadIDBuilt = true
