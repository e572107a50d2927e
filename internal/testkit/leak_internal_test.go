package testkit

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { Main(m) }

// The leak check sees a goroutine a test left behind, and names it.
func TestFindLeaks_ReportsAGoroutineLeftRunning(t *testing.T) {
	before := goleak.IgnoreCurrent()
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		leftRunning(release)
	}()
	err := findLeaks(0, before)
	close(release)
	<-done
	if err == nil || !strings.Contains(err.Error(), "testkit.leftRunning") {
		t.Fatalf("a goroutine blocked in leftRunning: FindLeaks = %v, want it named", err)
	}
	if err := findLeaks(0, before); err != nil {
		t.Fatalf("after the goroutine ended: %v", err)
	}
}

func leftRunning(release chan struct{}) { <-release }
