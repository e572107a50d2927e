// Package testkit holds what the tests of several packages share.
package testkit

import (
	"testing"
	"time"
)

// CheckFor polls f every interval until it returns nil, and fails the test
// with f's last error if timeout passes first.
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
