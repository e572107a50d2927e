package actor

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/cloister-rt/cloister/isolate"
)

// StartError is an incarnation that could not start: its module body or
// its init threw. It says where in the script, and which grants ctx.env
// holds, since reading a grant the manifest does not give is the most
// common way a start fails ("Cannot read property 'send' of undefined").
type StartError struct {
	Err    error    // the failure, a *isolate.JSError for a throw
	At     string   // the script's innermost frame, "file.js:line:column", when known
	Grants []string // the names in ctx.env, in manifest order
}

func (e *StartError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.At != "" {
		b.WriteString(" (at " + e.At + ")")
	}
	if len(e.Grants) == 0 {
		b.WriteString("; ctx.env is empty: the manifest grants this process nothing")
		return b.String()
	}
	b.WriteString("; ctx.env has ")
	const shown = 20
	for k, g := range e.Grants {
		if k == shown {
			b.WriteString(", and " + strconv.Itoa(len(e.Grants)-shown) + " more")
			break
		}
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(g))
	}
	return b.String()
}

// Unwrap returns the failure.
func (e *StartError) Unwrap() error { return e.Err }

// frameRE matches a script frame of a JS stack: "at f (file.js:3:15(5))"
// or "at file.js:3:15(5)"; native frames have no line.
var frameRE = regexp.MustCompile(`^\s*at (?:[^\s(]+ \()?([^()\s]+:\d+:\d+)`)

// startError describes err, a failed start of p's incarnation, with the
// script's frame and the grants. Other errors are returned as they are.
func (p *Process) startError(err error) error {
	var je *isolate.JSError
	if err == nil || !errors.As(err, &je) {
		return err
	}
	se := &StartError{Err: err}
	for _, line := range strings.Split(je.Stack, "\n") {
		if m := frameRE.FindStringSubmatch(line); m != nil {
			se.At = m[1]
			break
		}
	}
	for _, g := range p.grants {
		se.Grants = append(se.Grants, g.Name)
	}
	return se
}
