//go:build !amd64 && !arm64

package actor

// curg is 0 where the goroutine's descriptor is not read: the dispatcher
// then never hands a job to the goroutine that scheduled it (dispatch.go).
func curg() uintptr { return 0 }
