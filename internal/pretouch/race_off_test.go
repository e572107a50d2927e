//go:build !race

package pretouch_test

const raceEnabled = false
