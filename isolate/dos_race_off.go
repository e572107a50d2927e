//go:build !race

package isolate

// raceSlowdown is 1 without the race detector (dos_race_on.go).
const raceSlowdown = 1
