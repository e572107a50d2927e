package actor

import (
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// ChildSpec declares one node of the process tree: a worker running a
// script, or, when Strategy is set, a supervisor of Children. It is plain
// data, the shape the manifest decodes into.
type ChildSpec struct {
	Name string

	// Worker fields. A worker runs either a Script or the Go receiver
	// that Go names (registered in Options.Receivers), never both.
	Script   *isolate.Script
	Go       string
	Args     []byte // msgpack encoding of init's first argument; nil means undefined
	Limits   isolate.Limits
	Grants   []GrantSpec
	Shutdown time.Duration // time terminate gets on an orderly stop; 0 means 5 s

	Restart RestartType    // when the supervisor restarts it; "" means permanent
	Mailbox mailbox.Limits // zero fields take the node's defaults

	// Supervisor fields.
	Strategy Strategy
	Children []ChildSpec
	// Template, when set, makes a supervisor of dynamic children: spawn
	// starts copies of it. Children must then be empty.
	Template *ChildSpec
	// MaxChildren bounds the dynamic children alive at once; 0 means
	// DefaultMaxChildren.
	MaxChildren int
}

// RestartType says which ends of a child its supervisor restarts.
type RestartType string

// OTP's restart types.
const (
	Permanent RestartType = "permanent" // always
	Transient RestartType = "transient" // only after an abnormal end
	Temporary RestartType = "temporary" // never
)

// DefaultMaxChildren bounds a template supervisor's live children.
const DefaultMaxChildren = 10_000

// restarts reports whether a child of this type is restarted after an end
// with reason.
func (r RestartType) restarts(reason string) bool {
	switch r {
	case Temporary:
		return false
	case Transient:
		return !IsNormal(reason)
	}
	return true
}

// IsSupervisor reports whether the spec declares a supervisor.
func (s *ChildSpec) IsSupervisor() bool { return s.Strategy != nil }

// GrantSpec gives a worker ctx.env[Name]: a capability with Rights over the
// process at path To (names from the root joined by "/").
type GrantSpec struct {
	Name   string
	To     string
	Rights capability.Rights
}

// Strategy decides what a supervisor does when a child crashes. It is called
// on the supervisor's own goroutine, one crash at a time.
type Strategy interface {
	// OnCrash returns the children to restart, in start order, or Escalate
	// to give up and fail the supervisor itself.
	OnCrash(children []*Process, crashed *Process, now time.Time) Decision
	// String names the strategy, e.g. "one_for_one".
	String() string
}

// Decision is a Strategy's answer.
type Decision struct {
	Restart  []*Process
	Escalate bool
	Reason   string // why it escalates, e.g. "reached_max_restart_intensity"
}

// restartType is the child's restart type, permanent when unset.
func (p *Process) restartType() RestartType {
	if p.spec.Restart == "" {
		return Permanent
	}
	return p.spec.Restart
}
