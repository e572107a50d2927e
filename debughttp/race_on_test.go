//go:build race

package debughttp_test

// raceDetector says whether the tests run under the race detector, which
// multiplies a large node's memory and time.
const raceDetector = true
