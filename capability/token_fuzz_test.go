package capability_test

import (
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/capability"
)

func FuzzToken_Parse(f *testing.F) {
	for _, s := range []string{
		"",
		strings.Repeat("0", 32),
		"00112233445566778899aabbccddeeff",
		"00112233445566778899AABBCCDDEEFF",
		strings.Repeat("f", 31),
		strings.Repeat("f", 33),
		strings.Repeat("g", 32),
		"0x112233445566778899aabbccddeeff",
		"000000000000000000000000010000X0",
		strings.Repeat("é", 16),
		capability.NewToken().String(),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// TokenFromBytes takes exactly 16 bytes, any 16 bytes.
		raw, err := capability.TokenFromBytes([]byte(s))
		if (err == nil) != (len(s) == capability.TokenSize) {
			t.Fatalf("TokenFromBytes(%q) = %v for %d bytes", s, err, len(s))
		}
		if err == nil && string(raw[:]) != s {
			t.Fatalf("TokenFromBytes(%q) = %x", s, raw[:])
		}

		tok, err := capability.ParseToken(s)
		if err != nil {
			return // the token returned with an error is not to be used
		}
		// Every accepted input is the token's hex form, up to case.
		canon := tok.String()
		if canon != strings.ToLower(s) {
			t.Fatalf("ParseToken(%q).String() = %q", s, canon)
		}
		again, err := capability.ParseToken(canon)
		if err != nil || again != tok {
			t.Fatalf("ParseToken(%q) = %s, %v; want %s", canon, again, err, tok)
		}
		b, err := capability.TokenFromBytes(tok[:])
		if err != nil || b != tok {
			t.Fatalf("TokenFromBytes(%x) = %s, %v", tok[:], b, err)
		}
	})
}
