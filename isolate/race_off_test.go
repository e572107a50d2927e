//go:build !race

package isolate_test

// raceDetector says whether the tests run under the race detector.
const raceDetector = false
