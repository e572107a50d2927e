//go:build !linux

package isolate

import "time"

// threadClock is unavailable here: the CPU limit is wall time.
type threadClock struct{}

func startThreadClock() (threadClock, bool)     { return threadClock{}, false }
func (threadClock) read() (time.Duration, bool) { return 0, false }
func (threadClock) stop()                       {}
