package pretouch_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cloister-rt/cloister/internal/pretouch"
)

// childEnv names the mode a test binary started by these tests runs in.
const childEnv = "PRETOUCH_TEST_CHILD"

// child runs the test binary again, running only test, with env added,
// and returns what it printed as key=value fields.
func child(t *testing.T, test string, env ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(withoutGODEBUG(os.Environ()), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", test, err, out)
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "CHILD "); ok {
			for _, f := range strings.Fields(line) {
				if k, v, ok := strings.Cut(f, "="); ok {
					fields[k] = v
				}
			}
		}
	}
	if len(fields) == 0 {
		t.Fatalf("child %s printed no result:\n%s", test, out)
	}
	return fields
}

func withoutGODEBUG(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			out = append(out, kv)
		}
	}
	return out
}

// smapsKB is a field of /proc/self/smaps_rollup, in kB.
func smapsKB(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Skipf("no smaps_rollup: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("smaps_rollup %s: %q", field, line)
			}
			return n
		}
	}
	t.Skipf("smaps_rollup has no %s", field)
	return 0
}

func faults() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Minflt
}

// TestChildFreed touches 64 MiB of heap, frees it and has the runtime
// return every free page at once; LazyFree is what the kernel still holds
// as lazily freed.
func TestChildFreed(t *testing.T) {
	if os.Getenv(childEnv) != "freed" {
		t.Skip("run by TestRuntime_HonoursMadvdontneed")
	}
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += os.Getpagesize() {
		b[i] = 1
	}
	runtime.KeepAlive(b)
	b = nil
	debug.FreeOSMemory()
	fmt.Printf("CHILD lazyfree_kb=%d flag=%v\n", smapsKB(t, "LazyFree"), pretouch.LazyFree())
}

// The option rests on the runtime returning pages with MADV_FREE when the
// process starts with madvdontneed=0, and with MADV_DONTNEED otherwise: if
// a Go release changes that, this fails.
func TestRuntime_HonoursMadvdontneed(t *testing.T) {
	free := child(t, "TestChildFreed", childEnv+"=freed", "GODEBUG=madvdontneed=0")
	if kb, _ := strconv.ParseInt(free["lazyfree_kb"], 10, 64); kb < 32<<10 {
		t.Errorf("with madvdontneed=0, %d kB lazily freed after returning 64 MiB, want at least 32 MiB", kb)
	}
	if free["flag"] != "true" {
		t.Errorf("with madvdontneed=0, LazyFree() = %s, want true", free["flag"])
	}
	dontneed := child(t, "TestChildFreed", childEnv+"=freed")
	if kb := dontneed["lazyfree_kb"]; kb != "0" {
		t.Errorf("without GODEBUG, %s kB lazily freed, want 0 (MADV_DONTNEED)", kb)
	}
	if dontneed["flag"] != "false" {
		t.Errorf("without GODEBUG, LazyFree() = %s, want false", dontneed["flag"])
	}
}

func TestChildExec(t *testing.T) {
	if os.Getenv(childEnv) != "exec" {
		t.Skip("run by TestExecLazyFree")
	}
	if err := pretouch.ExecLazyFree(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("CHILD flag=%v needs=%v godebug=%s\n", pretouch.LazyFree(), pretouch.NeedsExec(), os.Getenv("GODEBUG"))
}

func TestExecLazyFree(t *testing.T) {
	got := child(t, "TestChildExec", childEnv+"=exec", "GODEBUG=gctrace=0")
	if got["flag"] != "true" || got["needs"] != "false" {
		t.Errorf("after ExecLazyFree: LazyFree %s, NeedsExec %s; want true, false", got["flag"], got["needs"])
	}
	if got, want := got["godebug"], "gctrace=0,madvdontneed=0"; got != want {
		t.Errorf("after ExecLazyFree GODEBUG = %q, want %q", got, want)
	}
	// An operator's own setting stays: no re-execution.
	got = child(t, "TestChildExec", childEnv+"=exec", "GODEBUG=madvdontneed=1")
	if got["flag"] != "false" || got["godebug"] != "madvdontneed=1" {
		t.Errorf("with madvdontneed=1: LazyFree %s, GODEBUG %q; want false, unchanged", got["flag"], got["godebug"])
	}
}

// TestChildReuse pre-touches 64 MiB, has the runtime return every free
// page as its scavenger would in time, then allocates 32 MiB the way a node
// grows its heap and counts the page faults that took.
func TestChildReuse(t *testing.T) {
	if os.Getenv(childEnv) != "reuse" {
		t.Skip("run by TestHeap_PagesStayResident")
	}
	r, err := pretouch.Heap(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	debug.FreeOSMemory()
	f0 := faults()
	keep := make([][]byte, 0, 512)
	for range 512 {
		b := make([]byte, 64<<10)
		for i := 0; i < len(b); i += os.Getpagesize() {
			b[i] = 1 // used, as a node uses its heap
		}
		keep = append(keep, b)
	}
	f1 := faults()
	runtime.KeepAlive(keep)
	fmt.Printf("CHILD bytes=%d touch_faults=%d huge=%v lazy=%v reuse_faults=%d\n", r.Bytes, r.Faults, r.HugePages, r.LazyFree, f1-f0)
}

// After a pre-touch the heap's next 32 MiB come from resident pages, even
// once the runtime has returned them: far fewer faults than the 8192 pages
// a fresh heap takes. Without madvdontneed=0 the returned pages fault
// again.
func TestHeap_PagesStayResident(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory takes faults of its own as the heap is used")
	}
	pages := int64(32<<20) / int64(os.Getpagesize())
	got := child(t, "TestChildReuse", childEnv+"=reuse")
	if n, _ := strconv.ParseInt(got["reuse_faults"], 10, 64); n < pages/2 {
		t.Errorf("without madvdontneed=0, %d faults reusing 32 MiB the runtime returned, want at least %d", n, pages/2)
	}
	got = child(t, "TestChildReuse", childEnv+"=reuse", "GODEBUG=madvdontneed=0")
	if got["bytes"] != strconv.Itoa(64<<20) || got["lazy"] != "true" {
		t.Errorf("pre-touch result bytes=%s lazy=%s, want %d and true", got["bytes"], got["lazy"], 64<<20)
	}
	if n, _ := strconv.ParseInt(got["reuse_faults"], 10, 64); n > pages/4 {
		t.Errorf("%d faults allocating 32 MiB after a 64 MiB pre-touch, want under %d (a quarter of its pages)", n, pages/4)
	}
	if n, _ := strconv.ParseInt(got["touch_faults"], 10, 64); n <= 0 {
		t.Errorf("the pre-touch counted %d faults, want some", n)
	}
	if mode, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); bytes.Contains(mode, []byte("[madvise]")) != (got["huge"] == "true") {
		t.Errorf("HugePages = %s with THP mode %q", got["huge"], bytes.TrimSpace(mode))
	}
}

func TestHeap_RefusesAndRunsOnce(t *testing.T) {
	if r := pretouch.Done(); r != (pretouch.Result{}) {
		t.Fatalf("Done before any pre-touch = %+v, want zero", r)
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(16 << 20))
	if _, err := pretouch.Heap(32 << 20); err == nil || !strings.Contains(err.Error(), "memory limit") {
		t.Errorf("Heap(32 MiB) under a 16 MiB limit: err %v, want the limit named", err)
	}
	debug.SetMemoryLimit(1 << 62)
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err == nil {
		if _, err := pretouch.Heap(int64(si.Totalram) * int64(si.Unit)); err == nil || !strings.Contains(err.Error(), "half") {
			t.Errorf("Heap(all memory): err %v, want refused", err)
		}
	}
	if r := pretouch.Done(); r != (pretouch.Result{}) {
		t.Fatalf("Done after refusals = %+v, want zero", r)
	}
	r, err := pretouch.Heap(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if r.Bytes != 8<<20 || r.Faults <= 0 || r.CPU <= 0 {
		t.Errorf("Heap(8 MiB) = %+v, want 8 MiB touched with faults and CPU counted", r)
	}
	if again, _ := pretouch.Heap(16 << 20); again != r {
		t.Errorf("a second Heap = %+v, want the first's %+v (once per process)", again, r)
	}
	if d := pretouch.Done(); d != r {
		t.Errorf("Done = %+v, want %+v", d, r)
	}
}
