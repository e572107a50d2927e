package actor

import (
	"log/slog"

	"github.com/cloister-rt/cloister/internal/pretouch"
)

// applyPretouch pre-touches bytes of the process's heap for a node when
// bytes > 0 (see Options.PretouchHeap) and logs what the first one did.
func applyPretouch(bytes int64, log *slog.Logger) error {
	if bytes <= 0 {
		return nil
	}
	before := pretouch.Done()
	r, err := pretouch.Heap(bytes)
	if err != nil || before.Bytes != 0 {
		return err
	}
	log.Info("heap pre-touched", "bytes", r.Bytes, "faults", r.Faults, "cpu", r.CPU,
		"huge_pages", r.HugePages, "lazy_free", r.LazyFree)
	if !r.LazyFree {
		log.Warn("heap pre-touched without GODEBUG=madvdontneed=0 at start: the runtime returns the free pages to the kernel and they fault again on reuse",
			"bytes", r.Bytes)
	}
	return nil
}
