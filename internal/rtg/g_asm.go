//go:build amd64 || arm64

// Package rtg reads the running goroutine's runtime descriptor (its g),
// the one piece of the Go runtime's private state Cloister reads without
// the runtime's help: the dispatcher compares it to know which goroutine
// is scheduling (actor/dispatch.go), and the isolate follows it to the
// thread's id (isolate/tid_linux_amd64.go). Each user checks at start-up
// that what it reads behaves as it must, and falls back when it does not.
package rtg

import "unsafe"

// G is the calling goroutine's g: the same for every call on one
// goroutine, different between goroutines alive at once (a g is reused
// only after its goroutine has ended). It is read from where the Go ABI
// keeps it (the TLS slot on amd64, the g register on arm64).
func G() unsafe.Pointer

// Available reports whether G reads the descriptor here.
const Available = true
