package actor

import "fmt"

// maxMonitorsPerWatcher bounds the monitors one watcher incarnation holds
// on one process (of each kind, incarnation and slot monitors), so that
// one tenant with the monitor right cannot take the whole of the
// process's table (maxMonitors) and keep every other watcher out.
const maxMonitorsPerWatcher = maxMonitors / 10

// watcherKey is a watcher incarnation, as a key of life's monitor counts.
type watcherKey struct {
	p   *Process
	inc uint64
}

// shareLeft checks that watcher's incarnation winc may add a monitor to a
// table of p whose counts are counts, and counts it. lifeMu must be held.
func (p *Process) shareLeft(counts *map[watcherKey]int, watcher *Process, winc uint64) error {
	k := watcherKey{watcher, winc}
	if (*counts)[k] >= maxMonitorsPerWatcher {
		return fmt.Errorf("%w: %s holds %d monitors on %s, the most one watcher may", errTooManyMonitors, watcher.path, maxMonitorsPerWatcher, p.path)
	}
	if *counts == nil {
		*counts = make(map[watcherKey]int)
	}
	(*counts)[k]++
	return nil
}

// uncount forgets one monitor m in counts.
func uncount(counts map[watcherKey]int, m monitorEntry) {
	if m.watcher == nil {
		return // a watcher on another node is not counted
	}
	k := watcherKey{m.watcher, m.inc}
	if counts[k] <= 1 {
		delete(counts, k)
	} else {
		counts[k]--
	}
}
