package capability

import (
	"fmt"
	"strings"
)

// Rights is a set of rights over a process.
type Rights uint16

// The rights a capability may carry.
const (
	Send    Rights = 1 << iota // deliver messages and make calls
	Monitor                    // be told when the target ends
	Link                       // tie exits together both ways
	Exit                       // send a trappable exit signal
	Kill                       // end the target untrappably
	Inspect                    // read the target's state
	Spawn                      // start dynamic children (supervisors only)

	// All is every right; ctx.self carries it.
	All = Send | Monitor | Link | Exit | Kill | Inspect | Spawn
)

var rightNames = [...]struct {
	r    Rights
	name string
}{
	{Send, "send"}, {Monitor, "monitor"}, {Link, "link"}, {Exit, "exit"},
	{Kill, "kill"}, {Inspect, "inspect"}, {Spawn, "spawn"},
}

// ParseRight returns the right named s (e.g. "send").
func ParseRight(s string) (Rights, error) {
	for _, rn := range rightNames {
		if rn.name == s {
			return rn.r, nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownRight, s)
}

// ParseRights returns the union of the named rights.
func ParseRights(names []string) (Rights, error) {
	var out Rights
	for _, n := range names {
		r, err := ParseRight(n)
		if err != nil {
			return 0, err
		}
		out |= r
	}
	return out, nil
}

// Has reports whether every right in need is in r.
func (r Rights) Has(need Rights) bool { return r&need == need }

// Names lists the rights in r in their canonical order.
func (r Rights) Names() []string {
	out := make([]string, 0, len(rightNames))
	for _, rn := range rightNames {
		if r&rn.r != 0 {
			out = append(out, rn.name)
		}
	}
	return out
}

// String joins the names with commas ("send,monitor").
func (r Rights) String() string { return strings.Join(r.Names(), ",") }
