//go:build race

package isolate_test

// raceDetector says whether the tests run under the race detector, which
// makes goja's own code several times slower than the limits expect.
const raceDetector = true
