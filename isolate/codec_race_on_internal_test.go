//go:build race

package isolate

// codecRace says whether the tests run under the race detector, under
// which sync.Pool drops what it is given at random (so pooled codecs are
// made again and allocation counts mean nothing).
const codecRace = true
