package isolate

import (
	"testing"
	"unsafe"
)

// Every idle actor holds one Isolate: past 640 bytes it moves to the next
// allocation size class (704), 64 bytes more per actor. A field that
// pushes it over should find room elsewhere (see the one-byte fields at
// the end of the struct).
func TestIsolate_FitsItsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Isolate{}); n > 640 {
		t.Errorf("an Isolate is %d bytes, over the 640-byte size class", n)
	}
}
