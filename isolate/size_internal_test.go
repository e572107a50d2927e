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

// Every idle actor holds one limiter too: past 288 bytes it moves to the
// 320-byte class.
func TestLimiter_FitsItsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(limiter{}); n > 288 {
		t.Errorf("a limiter is %d bytes, over the 288-byte size class", n)
	}
}
