package capability_test

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/capability"
)

func TestToken_NewToken(t *testing.T) {
	const n = 10_000
	seen := make(map[capability.Token]bool, n)
	for range n {
		tok := capability.NewToken()
		if seen[tok] {
			t.Fatalf("NewToken repeated %s within %d tokens", tok, len(seen))
		}
		seen[tok] = true
	}
	if seen[capability.Token{}] {
		t.Errorf("NewToken returned the zero token")
	}
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestToken_StringRoundTrip(t *testing.T) {
	for range 100 {
		tok := capability.NewToken()
		s := tok.String()
		if !hex32.MatchString(s) {
			t.Fatalf("String() = %q, want 32 lowercase hex digits", s)
		}
		got, err := capability.ParseToken(s)
		if err != nil {
			t.Fatalf("ParseToken(%q): %v", s, err)
		}
		if got != tok {
			t.Fatalf("ParseToken(%q) = %s, want %s", s, got, tok)
		}
		b, err := capability.TokenFromBytes(tok[:])
		if err != nil || b != tok {
			t.Fatalf("TokenFromBytes(%x) = %s, %v", tok[:], b, err)
		}
	}
}

func TestToken_ParseToken(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the canonical form, "" if refused
	}{
		{"zero", strings.Repeat("0", 32), strings.Repeat("0", 32)},
		{"lowercase", "00112233445566778899aabbccddeeff", "00112233445566778899aabbccddeeff"},
		// Uppercase is accepted and names the same token.
		{"uppercase", "00112233445566778899AABBCCDDEEFF", "00112233445566778899aabbccddeeff"},
		{"empty", "", ""},
		{"short", strings.Repeat("a", 31), ""},
		{"long", strings.Repeat("a", 33), ""},
		{"not hex", strings.Repeat("g", 32), ""},
		{"spaces", " " + strings.Repeat("a", 30) + " ", ""},
		{"prefix", "0x" + strings.Repeat("a", 30), ""},
		{"16 bytes of binary", string(bytes.Repeat([]byte{0xff}, 16)), ""},
		{"multibyte runes", strings.Repeat("é", 16), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := capability.ParseToken(tt.in)
			if tt.want == "" {
				if !errors.Is(err, capability.ErrMalformedToken) {
					t.Fatalf("ParseToken(%q) = %s, %v; want ErrMalformedToken", tt.in, tok, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseToken(%q): %v", tt.in, err)
			}
			if got, want := tok.String(), tt.want; got != want {
				t.Errorf("ParseToken(%q).String() = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func TestToken_TokenFromBytes(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"16 bytes", bytes.Repeat([]byte{0xab}, 16), true},
		{"nil", nil, false},
		{"15 bytes", make([]byte, 15), false},
		{"17 bytes", make([]byte, 17), false},
		{"the hex form", []byte(strings.Repeat("a", 32)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := capability.TokenFromBytes(tt.in)
			if !tt.ok {
				if !errors.Is(err, capability.ErrMalformedToken) {
					t.Fatalf("TokenFromBytes(%x) = %s, %v; want ErrMalformedToken", tt.in, tok, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tok[:], tt.in) {
				t.Errorf("TokenFromBytes(%x) = %x", tt.in, tok[:])
			}
		})
	}
	// The token is a copy: changing the input afterwards does not change it.
	in := bytes.Repeat([]byte{1}, 16)
	tok, _ := capability.TokenFromBytes(in)
	in[0] = 2
	if tok[0] != 1 {
		t.Errorf("the token aliases its input")
	}
}
