//go:build race

package pretouch_test

// raceEnabled: the race detector's shadow memory faults in as the heap is
// used, so page-fault counts say nothing about the heap's own pages.
const raceEnabled = true
