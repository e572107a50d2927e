package isolate_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/sys/unix"
)

// BenchmarkCPULimit_BesideSpinners runs turns whose CPU work is a third of
// their limit beside enough spinning goroutines to take most of the
// machine, and reports how many of them were interrupted anyway: a turn
// that waits for a CPU should not be charged for the wait, so the goal is
// 0 interrupted/op. A benchmark, not a test: how long a turn waits depends
// on the machine's load.
func BenchmarkCPULimit_BesideSpinners(b *testing.B) {
	const src = `export function receive(msg) { let x = 0; for (let i = 0; i < msg.n; i++) x += i % 7; return x; }`
	s, err := isolate.Compile("loop.js", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	newIso := func(limit time.Duration) *isolate.Isolate {
		iso, err := isolate.New(s, isolate.Config{
			Name: "loop", Self: capability.New(target{1}, capability.All), Host: &fakeHost{}, Limits: isolate.Limits{CPU: limit},
		})
		if err != nil {
			b.Fatal(err)
		}
		return iso
	}
	// Calibrate in CPU time: this goroutine stays on its thread, whose
	// clock counts only the time the loop ran.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cal := newIso(time.Minute)
	defer cal.Close()
	n := 100_000
	var cpu time.Duration
	for {
		before := threadCPU(b)
		if o := benchTurn(cal, map[string]any{"n": n}); o.Crash != nil {
			b.Fatal(o.Crash)
		}
		if cpu = threadCPU(b) - before; cpu >= 10*time.Millisecond || n > 1<<28 {
			break
		}
		n *= 2
	}
	limit := 3 * cpu

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for k := 0; k < 4*runtime.GOMAXPROCS(0); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()

	iso := newIso(limit)
	defer iso.Close()
	interrupted := 0
	b.ResetTimer()
	for range b.N {
		o := benchTurn(iso, map[string]any{"n": n})
		if errors.Is(o.Crash, isolate.ErrCPULimit) {
			interrupted++
		} else if o.Crash != nil {
			b.Fatal(o.Crash)
		}
	}
	b.ReportMetric(float64(interrupted)/float64(b.N), "interrupted/op")
	b.ReportMetric(float64(cpu)/float64(time.Millisecond), "turn-cpu-ms")
}

func benchTurn(iso *isolate.Isolate, msg any) isolate.Outcome {
	data, err := msgpack.Marshal(msg)
	if err != nil {
		panic(err)
	}
	var out isolate.Outcome
	iso.Receive(mailbox.NewEnvelope(data, nil), true, func(o isolate.Outcome) { out = o })
	return out
}

// threadCPU is the CPU time of the calling thread so far.
func threadCPU(t testing.TB) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		t.Fatalf("read the thread's CPU clock: %v", err)
	}
	return time.Duration(ts.Nano())
}

// cpuOf runs f, which must not leave the calling goroutine, and returns
// the CPU time it used; ok is false where the clock cannot be read.
func cpuOf(t testing.TB, f func()) (used time.Duration, ok bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadCPU(t)
	f()
	return threadCPU(t) - before, true
}
