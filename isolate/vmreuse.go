package isolate

import (
	"reflect"
	"unsafe"

	"github.com/dop251/goja"
)

// goja drops its VM stack and its promise job queue when an outermost call
// returns (Runtime.leave sets both to nil) and allocates them again on the
// next call: two or three small allocations per turn, a tenth of the bytes
// a call round trip allocates. An isolate that has run more than
// vmLendAfter turns (an idle actor has run a few: the module, its init)
// keeps a small
// stack and job queue of its own (about 300 bytes) and hands them to goja before
// each turn; goja grows past them as before when a turn needs more. They
// are cleared after each turn, so they keep no value alive between turns.
// They are never shared with another isolate: a native function handed its
// arguments as a slice of the stack that kept the slice would otherwise see
// another tenant's values.

// vmKeepStack and vmKeepJobs are the sizes kept: what a turn that calls a
// handler and settles a promise or two uses.
const (
	vmKeepStack = 16
	vmKeepJobs  = 4
	vmLendAfter = 8
)

// The offsets of goja's Runtime.vm, vm.stack and Runtime.jobQueue, found
// by reflection; vmReuse is false if any of them is not what is expected,
// and then nothing is handed over (TestVMReuse_GojaLayoutIsKnown fails).
var (
	rtVMOff, vmStackOff, rtJobsOff uintptr
	vmReuse                        = vmReuseLayout()
)

func vmReuseLayout() bool {
	rt := reflect.TypeOf(goja.Runtime{})
	vmF, ok := rt.FieldByName("vm")
	if !ok || vmF.Type.Kind() != reflect.Pointer || vmF.Type.Elem().Kind() != reflect.Struct {
		return false
	}
	stF, ok := vmF.Type.Elem().FieldByName("stack")
	if !ok || stF.Type.Kind() != reflect.Slice || stF.Type.Elem() != reflect.TypeOf((*goja.Value)(nil)).Elem() {
		return false
	}
	jqF, ok := rt.FieldByName("jobQueue")
	if !ok || jqF.Type != reflect.TypeOf([]func(){}) {
		return false
	}
	rtVMOff, vmStackOff, rtJobsOff = vmF.Offset, stF.Offset, jqF.Offset
	vmSideOffs = vmSideOffs[:0]
	for _, name := range []string{"callStack", "iterStack", "refStack", "tryStack"} {
		if f, ok := vmF.Type.Elem().FieldByName(name); ok && f.Type.Kind() == reflect.Slice {
			vmSideOffs = append(vmSideOffs, f.Offset)
		}
	}
	return true
}

// vmSideOffs are the offsets of the VM's other stacks (calls, iterators,
// references, try frames), which goja empties as a call returns but keeps
// the arrays of: an isolate that has run few turns lets them go after each
// (dropSideStacks), so an idle actor keeps none (about 200 bytes).
var vmSideOffs []uintptr

// dropSideStacks lets go of the VM's side stacks that are empty. A stack
// still in use (a turn that is still running) is left alone.
func (i *Isolate) dropSideStacks() {
	vm := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(i.rt), rtVMOff))
	for _, off := range vmSideOffs {
		// Only the slice header is touched, through a type of the same
		// layout; a nil array pointer keeps nothing alive.
		if s := (*[]byte)(unsafe.Add(vm, off)); len(*s) == 0 && cap(*s) > 0 {
			*s = nil
		}
	}
}

func gojaVMStack(r *goja.Runtime) *[]goja.Value {
	vm := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(r), rtVMOff))
	return (*[]goja.Value)(unsafe.Add(vm, vmStackOff))
}

func gojaJobQueue(r *goja.Runtime) *[]func() {
	return (*[]func())(unsafe.Add(unsafe.Pointer(r), rtJobsOff))
}

// vmBuffers are the stack and job queue an isolate hands to goja.
type vmBuffers struct {
	stack []goja.Value
	jobs  []func()
}

// lendVM hands the isolate's buffers to goja before a turn, if goja holds
// none (it holds some only after a turn ended abruptly).
func (i *Isolate) lendVM() {
	if !vmReuse || i.vmBuf == nil {
		return
	}
	if s := gojaVMStack(i.rt); *s == nil {
		*s = i.vmBuf.stack[:0]
	}
	if q := gojaJobQueue(i.rt); *q == nil {
		*q = i.vmBuf.jobs[:0]
	}
}

// reclaimVM clears the buffers after a turn. One goja still holds (the
// turn ended abruptly, or it is still running) is given up to goja and
// replaced.
func (i *Isolate) reclaimVM() {
	if !vmReuse {
		return
	}
	b := i.vmBuf
	if b == nil {
		if i.vmTurns < vmLendAfter {
			i.vmTurns++
			i.dropSideStacks()
			return
		}
		i.vmBuf = &vmBuffers{stack: make([]goja.Value, vmKeepStack), jobs: make([]func(), vmKeepJobs)}
		return
	}
	if s := *gojaVMStack(i.rt); cap(s) > 0 && unsafe.SliceData(s) == unsafe.SliceData(b.stack) {
		b.stack = make([]goja.Value, vmKeepStack)
	} else {
		clear(b.stack)
	}
	if q := *gojaJobQueue(i.rt); cap(q) > 0 && unsafe.SliceData(q) == unsafe.SliceData(b.jobs) {
		b.jobs = make([]func(), vmKeepJobs)
	} else {
		clear(b.jobs)
	}
}
