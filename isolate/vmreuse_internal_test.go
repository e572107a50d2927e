package isolate

import (
	"testing"
	"time"
	"unsafe"

	"github.com/dop251/goja"

	"github.com/cloister-rt/cloister/mailbox"
)

// TestVMReuse_GojaLayoutIsKnown: the fields of goja's runtime that
// vmreuse.go reaches by offset are where it looks: during a turn the
// arguments a native function is handed lie in the stack it reads, and
// after a few turns that stack is the isolate's own buffer; after each turn
// the buffers hold no value, and a promise job queued in a turn runs in it.
func TestVMReuse_GojaLayoutIsKnown(t *testing.T) {
	if !vmReuse {
		t.Fatal("goja's Runtime.vm, vm.stack or Runtime.jobQueue moved or changed type")
	}
	if len(vmSideOffs) != 4 {
		t.Fatalf("found %d of goja's vm.callStack, iterStack, refStack and tryStack", len(vmSideOffs))
	}
	s, err := Compile("c.js", []byte(`
let n = 0;
export function receive(m) {
  probe("arg", n);
  Promise.resolve(n).then(v => { n = v + 1; done(n); });
  return deep(200);
}
function deep(k) { return k === 0 ? 0 : 1 + deep(k - 1); }`))
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(s, Config{Name: "vm", Host: acctHost{}, Limits: Limits{CPU: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	var inStack, ownStack, jobsRan int
	i.rt.Set("probe", func(c goja.FunctionCall) goja.Value {
		st := *gojaVMStack(i.rt)
		lo, hi := uintptr(unsafe.Pointer(unsafe.SliceData(st))), uintptr(unsafe.Pointer(unsafe.SliceData(st)))+uintptr(cap(st))*unsafe.Sizeof(goja.Value(nil))
		if a := uintptr(unsafe.Pointer(unsafe.SliceData(c.Arguments))); a >= lo && a < hi {
			inStack++
		}
		if i.vmBuf != nil && cap(st) > 0 && unsafe.SliceData(st) == unsafe.SliceData(i.vmBuf.stack) {
			ownStack++
		}
		return goja.Undefined()
	})
	i.rt.Set("done", func(c goja.FunctionCall) goja.Value { jobsRan++; return goja.Undefined() })
	env := mailbox.NewEnvelope([]byte{0xc0}, nil)
	const turns = 10
	v0 := int(i.vmTurns) // the module's evaluation counts
	for k := 0; k < turns; k++ {
		var o Outcome
		i.Receive(env, false, func(out Outcome) { o = out })
		if o.Crash != nil {
			t.Fatal(o.Crash)
		}
		if *gojaVMStack(i.rt) != nil || *gojaJobQueue(i.rt) != nil {
			t.Fatalf("turn %d: goja kept its stack or job queue after the turn", k)
		}
		if int(i.vmTurns) < vmLendAfter && i.vmBuf == nil {
			// A quiet isolate keeps none of the side stacks either (the
			// turn used all four: calls, a try frame, deep recursion).
			vm := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(i.rt), rtVMOff))
			for _, off := range vmSideOffs {
				if s := (*[]byte)(unsafe.Add(vm, off)); cap(*s) != 0 {
					t.Fatalf("turn %d: goja kept a side stack (offset %d, %d entries) after the turn", k, off, cap(*s))
				}
			}
		}
		if b := i.vmBuf; b != nil {
			for _, v := range b.stack {
				if v != nil {
					t.Fatalf("turn %d: the kept stack holds %v after the turn", k, v)
				}
			}
			for _, f := range b.jobs {
				if f != nil {
					t.Fatalf("turn %d: the kept job queue holds a job after the turn", k)
				}
			}
		}
	}
	if inStack != turns {
		t.Errorf("a native function's arguments lay in the stack read by offset in %d of %d turns", inStack, turns)
	}
	if want := turns - (vmLendAfter - v0) - 1; ownStack != want {
		t.Errorf("the isolate's own stack was goja's in %d turns, want %d", ownStack, want)
	}
	if jobsRan != turns {
		t.Errorf("promise jobs ran in %d of %d turns", jobsRan, turns)
	}
}
