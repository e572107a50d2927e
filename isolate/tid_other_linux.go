//go:build linux && !(amd64 && go1.26 && !go1.27)

package isolate

// Elsewhere the runtime's layout is not known here: threadID asks the
// kernel.

const runtimeThreadIDBuilt = false

func runtimeThreadID() int     { return 0 }
func runtimeThreadShape() bool { return false }
