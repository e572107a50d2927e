package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/internal/pretouch"
)

func TestSizeValue_Set(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"4096", 4096, true},
		{"256MiB", 256 << 20, true},
		{"1GiB", 1 << 30, true},
		{"64 KB", 64e3, true},
		{"1024GiB", 1 << 40, true},
		{"1025GiB", 0, false},
		{"-1", 0, false},
		{"1TB", 0, false},
		{"12x", 0, false},
		{"", 0, false},
	} {
		var v sizeValue
		err := v.Set(c.in)
		if (err == nil) != c.ok || (c.ok && int64(v) != c.want) {
			t.Errorf("Set(%q) = %d, %v; want %d, ok %v", c.in, v, err, c.want, c.ok)
		}
	}
}

func TestBench_PretouchHeapRefusesBadSize(t *testing.T) {
	err := run(context.Background(), []string{"bench", "--pretouch-heap", "12x"}, io.Discard, io.Discard)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "pretouch-heap") {
		t.Fatalf("bench --pretouch-heap 12x: %v, want a usage error naming the flag", err)
	}
}

// `run --pretouch-heap` asks to re-execute with madvdontneed=0 when GODEBUG
// does not decide, and hands the size to the node.
func TestRun_PretouchHeap(t *testing.T) {
	if r := pretouch.Done(); r.Bytes != 0 {
		t.Skipf("this process already pre-touched %d bytes", r.Bytes)
	}
	execs := 0
	execLazyFree = func() error { execs++; return nil } // the test binary must not replace itself
	t.Cleanup(func() { execLazyFree = pretouch.ExecLazyFree })

	script := writeFile(t, t.TempDir(), "idle.js", `export function receive() {}`)
	stderr, stop := start(t, "run", "--pretouch-heap", "8MiB", script)
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if !strings.Contains(stderr.String(), "node started") {
			return fmt.Errorf("not started yet:\n%s", stderr)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), `msg="heap pre-touched" bytes=8388608`) {
		t.Errorf("no pre-touch of 8 MiB logged:\n%s", stderr)
	}
	if r := pretouch.Done(); r.Bytes != 8<<20 {
		t.Errorf("the process pre-touched %d bytes, want %d", r.Bytes, 8<<20)
	}
	if want := map[bool]int{true: 1, false: 0}[pretouch.NeedsExec()]; execs != want {
		t.Errorf("re-executed %d times, want %d (NeedsExec %v)", execs, want, pretouch.NeedsExec())
	}
}
