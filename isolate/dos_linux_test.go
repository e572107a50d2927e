package isolate_test

import (
	"errors"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"

	"github.com/vmihailenco/msgpack/v5"
)

// The denial-of-service scripts of testdata/hostile (dos_*.js) each hold
// bombs: one turn's work that goja would run in Go for seconds, or that
// would allocate past the memory limit or overflow the Go stack. Each
// script lists what every bomb must end in. Here every bomb runs in a
// fresh isolate under a 50 ms CPU and 64 MiB memory limit, on a thread
// whose CPU clock measures the turn.

const (
	dosCPU    = 50 * time.Millisecond
	dosMemory = 64 << 20
	// dosOvershootPlain is how far past its CPU limit a bomb's turn may
	// run: the bound docs/limits.md promises.
	dosOvershootPlain = 5 * time.Millisecond
)

// dosOvershoot is dosOvershootPlain, or ten times it under the race
// detector: the checks that refuse a conversion or copy the turn has no
// time left for estimate its cost at the uninstrumented speed (printing a
// 2^18-bit BigInt, 3.7 ms), which the detector slows several times over,
// and more on a loaded machine (parseAtLimitLoop ran 68-97 ms under a 50
// ms limit five times in a row at load 12 under it, 49-60 ms when quiet).
// The run without the detector holds the promised bound.
var dosOvershoot = map[bool]time.Duration{false: dosOvershootPlain, true: 10 * dosOvershootPlain}[raceDetector]

// dosGaps are the bombs that Cloister cannot stop in time: their work is
// one instruction of goja's VM, not a builtin (docs/limits.md). Their
// outcome is still checked; their CPU time is only reported.
var dosGaps = map[string]string{}

// outcomeOf names how a turn ended, as the scripts' expectations do.
func outcomeOf(o isolate.Outcome) string {
	switch {
	case o.Crash == nil:
		return "ok"
	case errors.Is(o.Crash, isolate.ErrCPULimit):
		return "cpu_limit"
	case errors.Is(o.Crash, isolate.ErrMemoryLimit):
		return "memory_limit"
	}
	return "error"
}

func TestDoS_BombsStopWithinTheirLimits(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join("..", "testdata", "hostile", "dos_*.js"))
	if err != nil || len(scripts) < 7 {
		t.Fatalf("found %d dos scripts (%v), want 7", len(scripts), err)
	}
	for _, path := range scripts {
		src := dosScript(t, path)
		name := filepath.Base(path)
		iso, _ := newIsolate(t, src, isolate.Limits{})
		var expect map[string]string
		if err := msgpack.Unmarshal(turn(t, iso, map[string]any{"type": "list"}).Reply.Data(), &expect); err != nil {
			t.Fatalf("%s: list: %v", name, err)
		}
		iso.Close()
		bombs := make([]string, 0, len(expect))
		for b := range expect {
			bombs = append(bombs, b)
		}
		sort.Strings(bombs)
		for _, bomb := range bombs {
			want := expect[bomb]
			t.Run(strings.TrimSuffix(name, ".js")+"/"+bomb, func(t *testing.T) {
				run := func() (isolate.Outcome, time.Duration) {
					// The previous bomb's garbage is not this bomb's work:
					// it is collected before the script's load, which runs
					// under the same 50 ms (a race run on a loaded machine
					// saw a load end in cpu_limit right after a bomb that
					// overran), and again before the turn.
					runtime.GC()
					iso, _ := newIsolate(t, src, isolate.Limits{CPU: dosCPU, Memory: dosMemory})
					defer iso.Close()
					runtime.GC()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					before := threadCPU(t)
					o := turn(t, iso, map[string]any{"type": "bomb", "name": bomb})
					return o, threadCPU(t) - before
				}
				o, used := run()
				_, gap := dosGaps[name+"/"+bomb]
				// The other limit's stop instead of the expected one: in
				// a full run on a loaded machine a loop of garbage
				// BigInts once ended in memory_limit (the in-turn probe
				// attributes the process's heap growth to the turn;
				// see docs/limits.md), never when run alone.
				otherStop := func() bool {
					got := outcomeOf(o)
					return (got == "cpu_limit" || got == "memory_limit") && !strings.Contains("|"+want+"|", "|"+got+"|")
				}
				for try := 1; !gap && (used > dosCPU+dosOvershoot || otherStop()) && try < 5; try++ {
					// A heap walk that a reservation brings on, or GC
					// assist work charged to this thread, runs to
					// completion inside the turn (limits_walk.go); on a
					// saturated machine one can land past the limit. A
					// bomb that overruns, or stops at the other limit,
					// five times in a row is not that.
					t.Logf("%s: %s after %v of CPU; measuring again", bomb, outcomeOf(o), used)
					o, used = run()
				}
				got := outcomeOf(o)
				t.Logf("%s: %s (%v) after %v of CPU", bomb, got, o.Crash, used)
				switch {
				case strings.Contains("|"+want+"|", "|"+got+"|"):
				case raceDetector && got == "cpu_limit":
					// Under the race detector the CPU limit can come
					// first (a long concatenation's charge can bring on a
					// heap walk, and everything runs many times slower
					// under the detector: a CI race run saw a bomb that
					// ends ok in 2 ms take 52): the bomb is stopped all
					// the same. The run without the detector checks the
					// exact outcome.
					t.Logf("%s ended in cpu_limit under the race detector; want %s", bomb, want)
				default:
					t.Errorf("%s ended in %s (%v), want %s", bomb, got, o.Crash, want)
				}
				if gap {
					t.Logf("known gap, CPU not bounded: %s", dosGaps[name+"/"+bomb])
				} else if used > dosCPU+dosOvershoot {
					t.Errorf("%s used %v of CPU, over the limit of %v by more than %v", bomb, used, dosCPU, dosOvershoot)
				}
			})
		}
	}
}
