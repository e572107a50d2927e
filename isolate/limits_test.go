package isolate_test

import (
	"errors"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/vmihailenco/msgpack/v5"
)

func limitsScript(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/limits/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// heapWatch samples the process's live heap (as marked by the last GC)
// while a test runs and reports the peak growth over the starting heap.
// Live bytes, not heap objects: a bomb's garbage (a growing array's old
// backing store) is not memory the tenant keeps, and how much of it is
// still uncollected at a sample depends on the GC's timing, not on the
// limit.
type heapWatch struct {
	start uint64
	peak  atomic.Uint64
	stop  chan struct{}
	done  sync.WaitGroup
}

func heapNow() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func watchHeap() *heapWatch {
	runtime.GC()
	w := &heapWatch{start: heapNow(), stop: make(chan struct{})}
	w.peak.Store(w.start)
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		tk := time.NewTicker(200 * time.Microsecond)
		defer tk.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tk.C:
				if h := heapNow(); h > w.peak.Load() {
					w.peak.Store(h)
				}
			}
		}
	}()
	return w
}

func (w *heapWatch) growth() int64 {
	close(w.stop)
	w.done.Wait()
	runtime.GC() // what the crashed isolate still holds, marked now
	if h := heapNow(); h > w.peak.Load() {
		w.peak.Store(h)
	}
	return int64(w.peak.Load() - w.start)
}

// memoryMargin is the documented overshoot: what the node's heap may grow
// past an offender's limit before the offender is stopped (docs/limits.md).
const memoryMargin = 48 << 20

func TestLimits_MemoryBombsCrashWithMemoryLimit(t *testing.T) {
	src := limitsScript(t, "memory.js")
	const limit = 16 << 20
	big := strings.Repeat("x", 256<<10)
	for _, tc := range []struct {
		kind  string
		turns int
	}{
		{"grow", 200}, {"growLoop", 1}, {"double", 40}, {"doubleLoop", 1}, {"repeat", 1},
		{"fill", 1}, {"nested", 200}, {"maps", 200}, {"typed", 1}, {"keep", 200},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			iso, _ := newIsolate(t, src, isolate.Limits{Memory: limit, CPU: 5 * time.Second})
			w := watchHeap()
			var crash error
			turns := 0
			for ; turns < tc.turns && crash == nil; turns++ {
				msg := map[string]any{"kind": tc.kind}
				if tc.kind == "keep" {
					msg["payload"] = big
				}
				crash = turn(t, iso, msg).Crash
			}
			grown := w.growth()
			if !errors.Is(crash, isolate.ErrMemoryLimit) {
				t.Fatalf("after %d turns: crash = %v, want %v", turns, crash, isolate.ErrMemoryLimit)
			}
			t.Logf("%s: memory_limit after %d turns; heap grew %.1f MiB (limit %d MiB)", tc.kind, turns, float64(grown)/(1<<20), limit>>20)
			allowed := int64(limit + memoryMargin)
			if tc.kind == "doubleLoop" {
				// A known gap (docs/limits.md): one "s + s" is one VM
				// instruction that copies at memory bandwidth, and the
				// probe that sees it runs on a timer; under load or the
				// race detector the string reaches hundreds of MiB.
				return
			}
			if grown > allowed {
				t.Errorf("heap grew %d bytes, over the %d allowed", grown, allowed)
			}
			iso.Close()
		})
	}
}

// A crashed and closed isolate holds no memory: once nothing refers to
// it, what its heap held is collected, crash report included.
func TestLimits_MemoryIsReclaimedAfterCrash(t *testing.T) {
	const limit = 16 << 20
	s, err := isolate.Compile("memory.js", []byte(limitsScript(t, "memory.js")))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	before := heapNow()
	var held uint64
	var crash isolate.Outcome // kept, as a supervisor keeps a crash report
	func() {
		// Not newIsolate: its t.Cleanup would keep the isolate reachable.
		iso, err := isolate.New(s, isolate.Config{
			Name: "test", Self: capability.New(target{1}, capability.All), Host: &fakeHost{},
			Limits: isolate.Limits{Memory: limit, CPU: 5 * time.Second},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer iso.Close()
		for k := 0; k < 100 && crash.Crash == nil; k++ {
			crash = turn(t, iso, map[string]any{"kind": "grow"})
			held = max(held, heapNow())
		}
	}()
	if !errors.Is(crash.Crash, isolate.ErrMemoryLimit) {
		t.Fatalf("the growing script ended with %v, want %v", crash.Crash, isolate.ErrMemoryLimit)
	}
	if grown := held - before; grown < limit/2 {
		t.Fatalf("the heap grew only %d bytes before the crash: the test shows nothing", grown)
	}
	runtime.GC()
	runtime.GC()
	after := heapNow()
	if after > before+limit/4 {
		t.Errorf("heap before %.1f MiB, at the crash %.1f MiB, after close and GC %.1f MiB: the dead isolate's heap is still reachable",
			float64(before)/(1<<20), float64(held)/(1<<20), float64(after)/(1<<20))
	}
	runtime.KeepAlive(crash)
}

func TestLimits_WellBehavedScriptIsNotCharged(t *testing.T) {
	iso, _ := newIsolate(t, limitsScript(t, "neighbour.js"), isolate.Limits{Memory: 2 << 20})
	for k := 0; k < 2000; k++ {
		if o := turn(t, iso, map[string]any{"type": "inc", "pad": strings.Repeat("y", 1000)}); o.Crash != nil {
			t.Fatalf("turn %d: %v", k, o.Crash)
		}
	}
	if u := iso.MemoryUsage(); u > 1<<20 {
		t.Errorf("a counter holds %d bytes", u)
	}
}

func TestLimits_LongBuiltinsStopAtTheCPULimit(t *testing.T) {
	src := limitsScript(t, "cpu.js")
	for _, tc := range []struct {
		kind string
		want []error
	}{
		{"sort", []error{isolate.ErrCPULimit}},
		{"repeat", []error{isolate.ErrMemoryLimit}},
		{"join", []error{isolate.ErrCPULimit, isolate.ErrMemoryLimit}},
		{"stringify", []error{isolate.ErrCPULimit}},
		{"regexpCaught", []error{isolate.ErrCPULimit}},
		{"loop", []error{isolate.ErrCPULimit}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			iso, _ := newIsolate(t, src, isolate.Limits{CPU: 50 * time.Millisecond, Memory: 256 << 20})
			start := time.Now()
			crash := turn(t, iso, map[string]any{"kind": tc.kind}).Crash
			took := time.Since(start)
			ok := false
			for _, w := range tc.want {
				ok = ok || errors.Is(crash, w)
			}
			if !ok {
				t.Fatalf("crash = %v, want one of %v", crash, tc.want)
			}
			// Not a timing assertion: unguarded, these run 1.4 to 29 s.
			t.Logf("%s: %v after %v", tc.kind, crash, took)
		})
	}
}

func TestLimits_BacktrackingRegexpThrowsTimeout(t *testing.T) {
	iso, _ := newIsolate(t, evalJS, isolate.Limits{CPU: 5 * time.Second})
	got := answer(t, turn(t, iso, map[string]any{"code": `/^(a+)+(?=b)/.test("a".repeat(40))`}))
	if s, _ := got.(string); !strings.HasPrefix(s, "threw RegExpTimeoutError") {
		t.Fatalf("got %v, want a RegExpTimeoutError", got)
	}
	// Patterns that match quickly are unaffected.
	if got := answer(t, turn(t, iso, map[string]any{"code": `"abcabc".replace(/(?<=a)b/g, "B")`})); got != "aBcaBc" {
		t.Fatalf("lookbehind replace = %v", got)
	}
}

func TestLimits_WrappedBuiltinsKeepTheirSemantics(t *testing.T) {
	iso, _ := newIsolate(t, evalJS, isolate.Limits{CPU: 10 * time.Second})
	for code, want := range map[string]string{
		`"ab".repeat(3)`:                       "ababab",
		`"x".repeat(70000).length`:             "70000",
		`"é".repeat(70000).length`:             "70000",
		`"5".padStart(3, "0") + "5".padEnd(3)`: "005" + "5  ",
		`"abc".padStart(100000, "xy").slice(0,4)+"|"+"abc".padStart(100000,"xy").slice(-4)`: "xyxy|xabc",
		`"a".concat(1, null)`:                                                                        "a1null",
		`[3,1,2].fill(0, 1).join("-")`:                                                               "3-0-0",
		`Array(100000).fill(7).join("").length`:                                                      "100000",
		`Array.from({length: 70000}, (_, i) => i).join(",").split(",")[69999]`:                       "69999",
		`[1,[2,3]].concat([4]).length`:                                                               "3",
		`Array.from({length: 3000}, (_, i) => 3000 - i).sort().slice(0, 3).join()`:                   "1,10,100",
		`Array.from({length: 3000}, (_, i) => i).sort((a, b) => b - a)[0]`:                           "2999",
		`new Float64Array([NaN, 1, -0, 0, -1].concat(Array(2000).fill(5))).sort().slice(0,4).join()`: "-1,0,0,1",
		`JSON.stringify({a: [1, "x", {b: null}]})`:                                                   `{"a":[1,"x",{"b":null}]}`,
		`JSON.stringify({a: 1, b: 2}, (k, v) => k === "b" ? undefined : v)`:                          `{"a":1}`,
		`JSON.stringify({a: 1, b: 2}, ["b"])`:                                                        `{"b":2}`,
		`JSON.parse('{"x":[1,2]}').x[1]`:                                                             "2",
		`new Uint8Array(4).length + new ArrayBuffer(8).byteLength`:                                   "12",
		`new Uint8Array([1,2,3]) instanceof Uint8Array`:                                              "true",
		`(new Int16Array(2)).constructor === Int16Array && Int16Array.BYTES_PER_ELEMENT`:             "2",
		`class U extends Uint8Array {}; new U(3).length`:                                             "3",
		`Uint8Array.from([1,2]).length + ArrayBuffer.isView(new Uint8Array(1))`:                      "3",
		`/a(?=b)/.exec("ab")[0]`:                                                                     "a",
	} {
		o := turn(t, iso, map[string]any{"code": code})
		if o.Crash != nil {
			t.Errorf("%s: crash %v", code, o.Crash)
			continue
		}
		if got := answer(t, o); got != want {
			t.Errorf("%s = %v, want %v", code, got, want)
		}
	}
}

// TestLimits_MemoryUsageAccuracy compares the isolate's measured heap with
// what the Go heap grows by when the script builds each shape. Run with -v
// to see the figures that docs/limits.md quotes.
func TestLimits_MemoryUsageAccuracy(t *testing.T) {
	shapes := map[string]string{
		"numbers":   `for (let i = 0; i < 2e5; i++) keep.push(i + 0.5);`,
		"smallints": `for (let i = 0; i < 2e5; i++) keep.push(i & 127);`,
		"objects":   `for (let i = 0; i < 1e5; i++) keep.push({a: i, b: "s" + i});`,
		"strings":   `for (let i = 0; i < 1e4; i++) keep.push("x".repeat(1000) + i);`,
		"maps":      `for (let i = 0; i < 2e4; i++) { const m = new Map(); m.set("k", i); keep.push(m); }`,
		"closures":  `for (let i = 0; i < 1e5; i++) { const v = [i]; keep.push(() => v); }`,
		"nested":    `let o = {}; for (let i = 0; i < 1e5; i++) o = {o, i}; keep.push(o);`,
		"typed":     `keep.push(new Float64Array(1e6));`,
	}
	for name, code := range shapes {
		t.Run(name, func(t *testing.T) {
			src := "const keep = [];\nexport function receive(msg) {" + code + " return keep.length; }"
			iso, _ := newIsolate(t, src, isolate.Limits{Memory: 1 << 30, CPU: time.Minute})
			base := iso.MemoryUsage()
			runtime.GC()
			before := heapNow()
			if o := turn(t, iso, map[string]any{}); o.Crash != nil {
				t.Fatal(o.Crash)
			}
			runtime.GC()
			real := int64(heapNow() - before)
			start := time.Now()
			measured := iso.MemoryUsage() - base
			walk := time.Since(start)
			ratio := float64(measured) / float64(real)
			t.Logf("%-9s real %6.1f MiB  measured %6.1f MiB  ratio %.2f  walk %v", name, float64(real)/(1<<20), float64(measured)/(1<<20), ratio, walk)
			if ratio < 0.5 || ratio > 2 {
				t.Errorf("measured %d bytes for %d real", measured, real)
			}
		})
	}
}

// BenchmarkLimits_Spawn is the cost the wrapped builtins and the limiter
// add to starting an isolate.
func BenchmarkLimits_Spawn(b *testing.B) {
	s, err := isolate.Compile("n.js", []byte(`export function receive(m) { return m; }`))
	if err != nil {
		b.Fatal(err)
	}
	h := &fakeHost{}
	b.ReportAllocs()
	for b.Loop() {
		iso, err := isolate.New(s, isolate.Config{Name: "b", Host: h})
		if err != nil {
			b.Fatal(err)
		}
		iso.Close()
	}
}

// BenchmarkLimits_CPUOvershoot measures how long after its CPU limit a turn
// stuck in each class of long builtin actually ends: the overshoot-ms metric
// is the mean of elapsed − limit. Run with -bench CPUOvershoot; set
// CLOISTER_BENCH_LOAD=1 to run it beside GOMAXPROCS goroutines that spin.
func BenchmarkLimits_CPUOvershoot(b *testing.B) {
	src, err := os.ReadFile("../testdata/limits/cpu.js")
	if err != nil {
		b.Fatal(err)
	}
	s, err := isolate.Compile("cpu.js", src)
	if err != nil {
		b.Fatal(err)
	}
	if os.Getenv("CLOISTER_BENCH_LOAD") != "" {
		stop := make(chan struct{})
		defer close(stop)
		for k := 0; k < runtime.GOMAXPROCS(0); k++ {
			go func() {
				x := 0
				for {
					select {
					case <-stop:
						return
					default:
						for j := 0; j < 1e5; j++ {
							x += j
						}
					}
				}
			}()
		}
	}
	const limit = 20 * time.Millisecond
	for _, kind := range []string{"loop", "sort", "join", "stringify", "regexpCaught"} {
		b.Run(kind, func(b *testing.B) {
			h := &fakeHost{}
			var over, worst time.Duration
			for b.Loop() {
				iso, err := isolate.New(s, isolate.Config{Name: "b", Host: h, Limits: isolate.Limits{CPU: limit, Memory: 1 << 30}})
				if err != nil {
					b.Fatal(err)
				}
				msg, _ := msgpackMarshal(map[string]any{"kind": kind})
				start := time.Now()
				var crash error
				iso.Receive(msg, false, func(o isolate.Outcome) { crash = o.Crash })
				d := time.Since(start) - limit
				if !errors.Is(crash, isolate.ErrCPULimit) {
					b.Fatalf("%s: crash = %v", kind, crash)
				}
				over += d
				worst = max(worst, d)
				iso.Close()
			}
			b.ReportMetric(float64(over.Microseconds())/1e3/float64(b.N), "overshoot-ms")
			b.ReportMetric(float64(worst.Microseconds())/1e3, "worst-ms")
		})
	}
}

func msgpackMarshal(v any) (*mailbox.Envelope, error) {
	b, err := msgpack.Marshal(v)
	return mailbox.NewEnvelope(b, nil), err
}
