package capability

import (
	"errors"
	"fmt"
)

// ErrDenied is matched (errors.Is) by every refusal for a missing right.
var ErrDenied = errors.New("capability denied")

// ErrRevoked is matched (errors.Is) by every refusal of a revoked capability.
var ErrRevoked = errors.New("capability revoked")

// ErrUnknownRight is returned when a right's name is not one of Cloister's rights.
var ErrUnknownRight = errors.New("unknown right")

// ErrMalformedToken is returned by ParseToken for input that is not a token.
var ErrMalformedToken = errors.New("malformed capability token")

// DeniedError says which right an operation needed and why it was refused.
type DeniedError struct {
	Op      string // the operation, e.g. "send" or "kill"
	Need    Rights // the rights the operation needed
	Revoked bool   // the capability was revoked rather than lacking the right
}

func (e *DeniedError) Error() string {
	if e.Revoked {
		return fmt.Sprintf("%s: capability revoked", e.Op)
	}
	return fmt.Sprintf("%s: capability lacks the %q right", e.Op, e.Need.String())
}

// Is reports whether target is ErrDenied or, for a revocation, ErrRevoked.
func (e *DeniedError) Is(target error) bool {
	return target == ErrDenied || (e.Revoked && target == ErrRevoked)
}
