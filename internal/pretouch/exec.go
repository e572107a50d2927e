package pretouch

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
)

// NeedsExec reports whether the process should re-execute itself for a
// pre-touch to last: on Linux, when GODEBUG as the process started with it
// does not name madvdontneed at all. An operator's own madvdontneed, either
// value, is left alone.
func NeedsExec() bool {
	return runtime.GOOS == "linux" && !namesMadvdontneed(startGODEBUG)
}

// ExecLazyFree replaces the process with a fresh run of its own executable,
// the same arguments and environment plus madvdontneed=0 in GODEBUG, when
// NeedsExec says so; otherwise it returns nil at once. On success it does
// not return. Call it first thing, before the process has opened listeners
// or files or started anything it would have to stop: the process id stays
// the same, its state does not.
func ExecLazyFree() error {
	if !NeedsExec() {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("pretouch: find own executable: %w", err)
	}
	env := withLazyFree(os.Environ())
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("pretouch: re-execute %s with GODEBUG=madvdontneed=0: %w", exe, err)
	}
	return nil // not reached
}

// withLazyFree is env with madvdontneed=0 appended to GODEBUG (GODEBUG
// added if missing).
func withLazyFree(env []string) []string {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok && !found {
			found = true
			if v != "" {
				v += ","
			}
			kv = "GODEBUG=" + v + "madvdontneed=0"
		} else if ok {
			continue // a duplicate: getenv reads the first
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "GODEBUG=madvdontneed=0")
	}
	return out
}

// namesMadvdontneed reports whether the GODEBUG value env sets madvdontneed.
func namesMadvdontneed(env string) bool {
	for _, f := range strings.Split(env, ",") {
		if k, _, ok := strings.Cut(f, "="); ok && k == "madvdontneed" {
			return true
		}
	}
	return false
}
