package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/cloister-rt/cloister/internal/pretouch"
)

// sizeValue is a flag holding a byte size such as 268435456, 256MiB or
// 1GiB; 0 means off.
type sizeValue int64

var sizeFlagRE = regexp.MustCompile(`^([0-9]+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$`)

func (s *sizeValue) String() string { return strconv.FormatInt(int64(*s), 10) }

// Set parses a size up to 1TiB with an optional unit.
func (s *sizeValue) Set(v string) error {
	m := sizeFlagRE.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return fmt.Errorf("%q is not a size (like 268435456, 256MiB or 1GiB)", v)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	mult := map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9}[m[2]]
	if err != nil || n > (1<<40)/mult {
		return fmt.Errorf("%q is more than 1TiB", v)
	}
	*s = sizeValue(n * mult)
	return nil
}

// addPretouchFlag adds --pretouch-heap to fs.
func addPretouchFlag(fs *flag.FlagSet) *sizeValue {
	v := new(sizeValue)
	fs.Var(v, "pretouch-heap", "fault in `SIZE` of heap at start (like 256MiB), so that the first actors spawned "+
		"take no page faults; re-executes the process with GODEBUG=madvdontneed=0 unless GODEBUG names madvdontneed "+
		"(docs/benchmarks.md). Costs CPU at start and keeps the memory resident (default off)")
	return v
}

// execLazyFree re-executes the process with madvdontneed=0 when it needs
// it; tests replace it.
var execLazyFree = pretouch.ExecLazyFree

// lazyFreeFor makes a pre-touch of size bytes last: it re-executes the
// process (not returning on success) unless size is 0 or GODEBUG already
// decides how free pages are returned. Call it before anything starts.
func lazyFreeFor(size sizeValue) error {
	if size <= 0 || !pretouch.NeedsExec() {
		return nil
	}
	if err := execLazyFree(); err != nil {
		return fmt.Errorf("--pretouch-heap: %w", err)
	}
	return nil
}

// reportPretouch prints what a command's pre-touch did.
func reportPretouch(w io.Writer, r pretouch.Result) {
	fmt.Fprintf(w, "pretouch: %d MiB in %.0f ms CPU, %d page faults, huge pages %v, lazy free %v\n",
		r.Bytes>>20, float64(r.CPU.Microseconds())/1e3, r.Faults, r.HugePages, r.LazyFree)
}
