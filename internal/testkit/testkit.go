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

// CheckFor polls f every interval until it returns nil, and fails the test
// with f's last error if timeout passes first. The timeout is a bound on a
// wait, never an assertion about speed: pick it generous.
func CheckFor(t testing.TB, timeout, interval time.Duration, f func() error) {
	t.Helper()
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
