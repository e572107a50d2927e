package isolate

import (
	"strings"
	"unicode/utf8"
)

// Header values are byte strings, the Fetch standard's ByteString: on the
// wire a value is bytes; in a script it is a string with one character per
// byte, U+0000 to U+00FF ("é" is the byte 0xE9). Go's net/http carries the
// bytes as they are. The isolate's HTTP types (HTTPRequest, HTTPResponse,
// FetchResult) carry a value as the script sees it, in UTF-8, as messages
// carry every string to and from a script; a host converts with HeaderText
// and HeaderBytes where it meets net/http.

// HeaderText is the script's form of header value b, bytes as on the wire:
// each byte the character of the same number, in UTF-8 ("\xe9" is "é", and
// UTF-8's "\xc3\xa9" is the two characters "Ã©"). An ASCII value is
// returned as it is; any other is at most twice as long.
func HeaderText(b string) string {
	k := 0
	for k < len(b) && b[k] < utf8.RuneSelf {
		k++
	}
	if k == len(b) {
		return b
	}
	var sb strings.Builder
	sb.Grow(2*len(b) - k)
	sb.WriteString(b[:k])
	for ; k < len(b); k++ {
		if c := b[k]; c < utf8.RuneSelf {
			sb.WriteByte(c)
		} else {
			sb.WriteByte(0xc0 | c>>6)
			sb.WriteByte(0x80 | c&0x3f)
		}
	}
	return sb.String()
}

// HeaderBytes is the reverse of HeaderText: the bytes header value s, in a
// script's form, goes on the wire as, each character one byte. ok is false
// if s holds a character above U+00FF (or is not UTF-8), which no byte
// string has. An ASCII value is returned as it is.
func HeaderBytes(s string) (b string, ok bool) {
	k := 0
	for k < len(s) && s[k] < utf8.RuneSelf {
		k++
	}
	if k == len(s) {
		return s, true
	}
	out := make([]byte, k, len(s))
	copy(out, s[:k])
	for _, r := range s[k:] {
		if r > 0xff {
			return "", false
		}
		out = append(out, byte(r))
	}
	return string(out), true
}
