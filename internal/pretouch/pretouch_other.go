//go:build !linux

package pretouch

import "time"

// Transparent huge pages are a Linux feature.
func adviseHuge([]byte) bool    { return false }
func unadviseHuge([]byte, bool) {}

func usage() (faults int64, cpu time.Duration) { return 0, 0 }

func physicalMemory() int64 { return 0 }
