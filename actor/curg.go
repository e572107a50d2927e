package actor

import "github.com/cloister-rt/cloister/internal/rtg"

// curg is the address of the calling goroutine's runtime descriptor
// (internal/rtg), or 0 where it is not read: the dispatcher then never
// hands a job to the goroutine that scheduled it (dispatch.go). It is
// compared, never dereferenced; checkCurg verifies that it tells
// goroutines apart before the dispatcher relies on it.
func curg() uintptr { return uintptr(rtg.G()) }
