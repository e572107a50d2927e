//go:build race

package actor_test

// raceOn says whether the tests run under the race detector, which makes
// goja and the builtin guards' CPU estimates many times slower.
const raceOn = true
