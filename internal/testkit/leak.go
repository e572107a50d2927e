package testkit

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// leakWait bounds how long Main waits for goroutines that are still
// winding down (a node's shutdown returns before every goroutine it ended
// has been scheduled for the last time) before it calls them leaked.
const leakWait = 10 * time.Second

// ignored are goroutines of dependencies that outlive a node by design,
// each named by the function at the top of its stack.
var ignored = []goleak.Option{
	// protoactor's dead-letter log throttle: the first dead letter of a
	// period (a message to an actor that has just stopped, as at every
	// shutdown) starts a goroutine that waits out the period (1 s by
	// default) to log how many were throttled, then ends. It holds no
	// Cloister state, and waiting for it would add a second to every test.
	goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
}

// Main runs the package's tests and then fails the run if any goroutine is
// still running that a test started: call it from TestMain. It checks only
// after a run that passed, so a failure is not buried under leak reports.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := FindLeaks(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests passed:\n%v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// FindLeaks returns an error describing the goroutines beyond the test
// framework's own and the ignored ones, waiting up to leakWait for them
// to end.
func FindLeaks(opts ...goleak.Option) error { return findLeaks(leakWait, opts...) }

func findLeaks(wait time.Duration, opts ...goleak.Option) error {
	opts = append(append([]goleak.Option{}, ignored...), opts...)
	deadline := time.Now().Add(wait)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// NoLeaks fails t if goroutines started since before are still running
// once leakWait has passed. before comes from goleak.IgnoreCurrent, taken
// at the start of the test.
func NoLeaks(t testing.TB, before goleak.Option) {
	t.Helper()
	if err := FindLeaks(before); err != nil {
		t.Errorf("goroutines left running: %v", err)
	}
}
