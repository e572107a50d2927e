package isolate

// lazyGlobals is what the rest of the isolate asks of the guarded
// builtins that are built on first use (see template.go): a path to one
// of them that passes no template — the decoder builds an ArrayBuffer
// directly — guards the group first.
type lazyGlobals struct {
	b *builtins
}

// lazyGroup names a group of builtins guarded together.
type lazyGroup uint8

const (
	lazyTypedArrays lazyGroup = iota
)

// ensure guards group g if it is not yet.
func (l *lazyGlobals) ensure(g lazyGroup) {
	if l == nil {
		return
	}
	switch g {
	case lazyTypedArrays:
		l.b.ensure(ctorTypedArray)
	}
}

// hasBin reports whether msgpack data may hold a bin value (which decodes
// to a Uint8Array): conservatively, whether any byte is a bin header.
func hasBin(data []byte) bool {
	for _, c := range data {
		if c >= 0xc4 && c <= 0xc6 {
			return true
		}
	}
	return false
}
