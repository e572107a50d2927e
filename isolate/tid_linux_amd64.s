//go:build linux && amd64 && go1.26 && !go1.27

#include "textflag.h"

// func curG() unsafe.Pointer
// The running goroutine's g, from the thread-local slot the runtime keeps
// it in (the linker turns (TLS) into the thread's g slot).
TEXT ·curG(SB), NOSPLIT, $0-8
	MOVQ (TLS), AX
	MOVQ AX, ret+0(FP)
	RET
