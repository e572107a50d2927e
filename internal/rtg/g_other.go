//go:build !amd64 && !arm64

// Package rtg reads the running goroutine's runtime descriptor where the
// platform's ABI is known here (amd64, arm64); elsewhere G is nil and its
// users fall back (see g_asm.go).
package rtg

import "unsafe"

// G is nil where the goroutine's descriptor is not read.
func G() unsafe.Pointer { return nil }

// Available reports whether G reads the descriptor here.
const Available = false
