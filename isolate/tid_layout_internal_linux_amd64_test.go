//go:build linux && amd64 && go1.26 && !go1.27

package isolate

import (
	"debug/dwarf"
	"debug/elf"
	"os"
	"testing"
)

// TestThreadID_RuntimeLayout fails when the thread id can no longer be
// read from the runtime: a start-up check that failed, or offsets that no
// longer match the runtime's structures as this binary's debug
// information describes them. Either leaves turns correct but paying a
// gettid per mailbox run. (tid_layout_unknown_internal_linux_amd64_test.go
// fails for a Go version this package has no offsets for.)
func TestThreadID_RuntimeLayout(t *testing.T) {
	if !tidFromRuntime {
		t.Fatal("the start-up check found the runtime's thread ids wrong: turns pay a gettid each")
	}
	// The check above compared the ids with gettid on several threads; the
	// offsets are also compared with the runtime's own description of its
	// structures, where the binary keeps one (go test -c; plain go test
	// links without it).
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatalf("open the test binary: %v", err)
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		t.Logf("the offsets are not compared with debug information, which this binary lacks (%v); go test -c keeps it", err)
		return
	}
	want := map[string]int64{"runtime.g.m": gOffM, "runtime.m.g0": mOffG0, "runtime.m.procid": mOffProcid}
	got := memberOffsets(t, d, want)
	for name, off := range want {
		if o, ok := got[name]; !ok {
			t.Errorf("%s: not in the debug information", name)
		} else if o != off {
			t.Errorf("%s is at offset %d, tid_linux_amd64.go says %d", name, o, off)
		}
	}
}

// memberOffsets finds the struct members named in want ("type.member").
func memberOffsets(t *testing.T, d *dwarf.Data, want map[string]int64) map[string]int64 {
	got := make(map[string]int64)
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			t.Fatalf("read debug information: %v", err)
		}
		if e == nil {
			return got
		}
		if e.Tag != dwarf.TagStructType {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if name != "runtime.g" && name != "runtime.m" {
			r.SkipChildren()
			continue
		}
		for {
			c, err := r.Next()
			if err != nil {
				t.Fatalf("read debug information: %v", err)
			}
			if c == nil || c.Tag == 0 {
				break
			}
			if c.Tag != dwarf.TagMember {
				continue
			}
			member, _ := c.Val(dwarf.AttrName).(string)
			key := name + "." + member
			if _, ok := want[key]; ok {
				if off, ok := c.Val(dwarf.AttrDataMemberLoc).(int64); ok {
					got[key] = off
				}
			}
		}
	}
}
