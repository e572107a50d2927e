//go:build !linux

package isolate

import "time"

// threadClock is unavailable here: the CPU limit is wall time.
type threadClock struct{}

func startThreadClock() (threadClock, bool)     { return threadClock{}, false }
func (threadClock) read() (time.Duration, bool) { return 0, false }
func (threadClock) stop()                       {}

// Pin is a goroutine held to its thread for a run of turns; here, where
// no thread clock is read, it holds nothing.
type Pin struct {
	base   time.Duration
	baseAt time.Time
}

// PinThread returns a pin that does nothing.
func PinThread() *Pin { return &Pin{} }

// Unpin does nothing.
func (p *Pin) Unpin() {}

// Follow returns a pin that does nothing.
func (p *Pin) Follow() *Pin { return &Pin{} }

func (p *Pin) turnClock() (threadClock, bool) { return startThreadClock() }
