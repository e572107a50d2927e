package actor

import (
	"testing"
	"unsafe"
)

// TestProcess_FitsItsSizeClass: every process of the node, idle or not,
// is one Process; on 64-bit hosts it fills the allocator's 576-byte size
// class, and one byte more would take it to the 640-byte class, 64 bytes
// more per idle actor. A field that must be added needs room made first
// (padding between small fields is where it was found last time).
func TestProcess_FitsItsSizeClass(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the size class is measured on 64-bit hosts")
	}
	if n := unsafe.Sizeof(Process{}); n > 576 {
		t.Fatalf("Process is %d bytes, past the 576-byte size class", n)
	}
}

// TestWorker_FitsItsSizeClass: every incarnation of a script is one
// worker; on 64-bit hosts it fills the 288-byte size class (the next is
// 320).
func TestWorker_FitsItsSizeClass(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the size class is measured on 64-bit hosts")
	}
	if n := unsafe.Sizeof(worker{}); n > 288 {
		t.Fatalf("worker is %d bytes, past the 288-byte size class", n)
	}
}
