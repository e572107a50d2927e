// Package testkit holds what the tests of several packages share: polling
// instead of sleeping, a log buffer safe for a node's concurrent writes, and
// the goroutine-leak check every package's TestMain runs.
//
// testkit imports no Cloister package, so that any package's tests, white-box
// ones included, may use it. The node fixture, which needs the actor and
// isolate packages, is in testkit/testnode, for black-box tests.
package testkit

import (
	"testing"
	"time"
)

// minWait is the least CheckFor waits, whatever timeout it is given. CI
// runs the race detector on a shared 2-core machine where a process can
// get no CPU for many seconds (a loaded run saw a call's 10 s pass within
// one turn, and a flow make no progress for 30 s), so a 5 or 10 s bound on
// a condition that needs CPU fails tests that have no bug to find.
const minWait = time.Minute

// CheckFor polls f every interval until it returns nil, and fails the test
// with f's last error if timeout (at least minWait) passes first. The
// timeout is a bound on a wait, never an assertion about speed.
func CheckFor(t testing.TB, timeout, interval time.Duration, f func() error) {
	t.Helper()
	timeout = max(timeout, minWait)
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}
