package pretouch

import (
	"bytes"
	"os"
	"syscall"
	"time"
	"unsafe"
)

const hugePage = 2 << 20

// thpMode is the kernel's transparent huge page mode: always, madvise or
// never; "" if it does not say.
func thpMode() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return ""
	}
	i, j := bytes.IndexByte(b, '['), bytes.IndexByte(b, ']')
	if i < 0 || j < i {
		return ""
	}
	return string(b[i+1 : j])
}

// hugeRange is the part of b that whole huge pages cover.
func hugeRange(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	addr := uintptr(unsafe.Pointer(&b[0]))
	lo := (addr+hugePage-1)&^(hugePage-1) - addr
	hi := (addr+uintptr(len(b)))&^(hugePage-1) - addr
	if lo >= hi {
		return nil
	}
	return b[lo:hi]
}

// adviseHuge asks for transparent huge pages over b when the kernel gives
// them only on request and GODEBUG does not turn them off for the heap
// (disablethp=1); true if it took the advice.
func adviseHuge(b []byte) bool {
	h := hugeRange(b)
	if h == nil || thpMode() != "madvise" || godebugValue(startGODEBUG, "disablethp") == "1" {
		return false
	}
	return syscall.Madvise(h, syscall.MADV_HUGEPAGE) == nil
}

// unadviseHuge takes the advice back once b is touched, so that khugepaged
// never collapses pages the runtime has since returned into huge pages
// again; the huge pages already made stay until the runtime returns part
// of one.
func unadviseHuge(b []byte, advised bool) {
	if advised {
		syscall.Madvise(hugeRange(b), syscall.MADV_NOHUGEPAGE)
	}
}

func usage() (faults int64, cpu time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return ru.Minflt, time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func physicalMemory() int64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
