//go:build !race

package isolate

// codecRace says whether the tests run under the race detector.
const codecRace = false
