//go:build amd64 || arm64

package actor

// curg is the address of the calling goroutine's runtime descriptor: the
// same for every call on one goroutine, different between goroutines that
// are alive at once (a descriptor is reused only after its goroutine has
// ended). It is read from where the Go ABI keeps it (the TLS slot on
// amd64, the g register on arm64); it is compared, never dereferenced.
// checkCurg verifies those properties before the dispatcher relies on
// them.
func curg() uintptr
