package isolate

import (
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// Interning what messages repeat.
//
// Most messages repeat the same few keys ("type", "id") and short string
// values ("inc", "ok"). Each pooled msgDecoder keeps the ones it has
// decoded in an internTable, so a repeated one costs a hash and a compare
// instead of an allocation. The table is direct-mapped: a fixed number of
// slots, each holding the last key (or string) that hashed to it, of at
// most maxInternKey (maxInternValue) bytes. It never grows, whatever a
// sender does: distinct keys only replace each other. What it holds is
// shared by every runtime the decoder serves, so it holds only immutable
// values: Go strings, goja's unistring names, and ASCII string values,
// which goja keeps as the Go string itself. Its size is bounded per pooled
// decoder (a handful per CPU): a key slot holds at most 32 bytes as
// received, 96 once invalid bytes became U+FFFD and 194 as UTF-16, a
// string slot at most 16 bytes; with the headers, at most about 110 KB per
// table whatever a sender does, and a few KB for ordinary traffic.
//
// A hit is charged like a miss: the heap estimate of a message does not
// depend on what the receiver happened to have interned.

// Interning limits.
const (
	maxInternKey   = 32
	maxInternValue = 16 // goja keeps ASCII strings this short immutable (asciiString)
	internSlots    = 256
)

// internedKey is one decoded key: raw is its bytes as received, key its
// valid UTF-8 form (for paths) and name goja's form of it.
type internedKey struct {
	raw  string
	key  string
	name unistring.String
}

type internedString struct {
	raw string
	v   goja.Value
}

type internTable struct {
	keys [internSlots]internedKey
	strs [internSlots]internedString
}

// internHash is FNV-1a; the inputs are at most maxInternKey bytes.
func internHash(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// key returns the interned form of the key bytes b (at most maxInternKey
// long), interning it if it is new. b is not kept.
func (t *internTable) key(b []byte) (string, unistring.String) {
	if len(b) == 0 {
		return "", ""
	}
	e := &t.keys[internHash(b)%internSlots]
	if e.raw == string(b) {
		return e.key, e.name
	}
	k := newKey(b)
	*e = k
	return k.key, k.name
}

// newKey makes the forms of the key bytes b.
func newKey(b []byte) internedKey {
	raw := string(b)
	k := internedKey{raw: raw, key: raw, name: unistring.String(raw)}
	if !utf8.ValidString(raw) {
		k.key = strings.ToValidUTF8(raw, "\uFFFD")
	}
	if !asciiOnly(b) {
		k.name = unistring.NewFromString(k.key)
	}
	return k
}

// str returns the string value of the bytes b (at most maxInternValue
// long), interned if b is ASCII; ok is false if it is not, and the caller
// makes the value. r makes a new value (goja keeps short ASCII strings as
// values of no runtime in particular).
func (t *internTable) str(r *goja.Runtime, b []byte) (goja.Value, bool) {
	e := &t.strs[internHash(b)%internSlots]
	if e.v != nil && e.raw == string(b) {
		return e.v, true
	}
	if !asciiOnly(b) {
		return nil, false
	}
	raw := string(b)
	*e = internedString{raw: raw, v: r.ToValue(raw)}
	return e.v, true
}
