//go:build race

package isolate

// raceSlowdown is how many times slower goja's element loops run under the
// race detector (includes over 2e6 doubles: 10 ms without it, 250-380 ms
// with it), for the estimates that refuse a loop up front.
const raceSlowdown = 40
