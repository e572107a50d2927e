package capability

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// TokenSize is the length of a token in bytes (128 bits).
const TokenSize = 16

// Token is the form a capability takes outside a node: 128 random bits that
// the issuing node maps back to a capability. Tokens are never derived from
// process ids, so they cannot be guessed from anything a script can see.
type Token [TokenSize]byte

// NewToken returns a token read from crypto/rand.
func NewToken() Token {
	var t Token
	if _, err := rand.Read(t[:]); err != nil {
		panic(fmt.Sprintf("capability: crypto/rand failed: %v", err)) // rand.Read never fails on supported platforms
	}
	return t
}

// String returns the token as 32 lowercase hex digits.
func (t Token) String() string { return hex.EncodeToString(t[:]) }

// ParseToken reads a token from its 32-hex-digit form.
func ParseToken(s string) (Token, error) {
	var t Token
	if len(s) != 2*TokenSize {
		return t, fmt.Errorf("%w: want %d hex digits, got %d characters", ErrMalformedToken, 2*TokenSize, len(s))
	}
	if _, err := hex.Decode(t[:], []byte(s)); err != nil {
		return t, fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	return t, nil
}

// TokenFromBytes reads a token from its 16-byte binary form.
func TokenFromBytes(b []byte) (Token, error) {
	var t Token
	if len(b) != TokenSize {
		return t, fmt.Errorf("%w: want %d bytes, got %d", ErrMalformedToken, TokenSize, len(b))
	}
	copy(t[:], b)
	return t, nil
}
