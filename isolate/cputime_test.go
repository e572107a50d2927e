package isolate_test

import (
	"errors"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

// stallingHost holds every console.log for stall: the turn that logs sits
// off-CPU, as it would when its thread waits for a CPU or is paused.
type stallingHost struct {
	*fakeHost
	stall time.Duration
}

func (h stallingHost) Log(level slog.Level, msg string) {
	time.Sleep(h.stall)
	h.fakeHost.Log(level, msg)
}

// A turn is charged the CPU time it uses, not the wall time it spends off
// the CPU: a turn that sits off-CPU for three times its limit finishes,
// and the same limit still ends a turn that spins.
func TestCPULimit_IsCPUTimeNotWallTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the CPU-time clock is read on Linux only")
	}
	const limit = 300 * time.Millisecond
	s, err := isolate.Compile("stall.js", []byte(`
export function receive(msg) {
  if (msg === "spin") for (;;) {}
  console.log("stall");
  return "done";
}`))
	if err != nil {
		t.Fatal(err)
	}
	iso, err := isolate.New(s, isolate.Config{
		Name: "stall", Self: capability.New(target{1}, capability.All),
		Host: stallingHost{fakeHost: &fakeHost{}, stall: 3 * limit}, Limits: isolate.Limits{CPU: limit},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer iso.Close()
	if got := answer(t, turn(t, iso, "stall")); got != "done" {
		t.Fatalf("the stalled turn answered %v", got)
	}
	if o := turn(t, iso, "spin"); !errors.Is(o.Crash, isolate.ErrCPULimit) {
		t.Fatalf("a spinning turn ended with %v, want %v", o.Crash, isolate.ErrCPULimit)
	}
}
