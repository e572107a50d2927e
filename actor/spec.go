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
	// Node places the child, with its whole subtree, on the cluster node
	// of that name; other nodes do not start it. Only the root's direct
	// children may be placed, and only on a clustered node (Options.Cluster);
	// "" places a child with its parent.
	Node string

	// Worker fields. A worker runs either a Script or the Go receiver
	// that Go names (registered in Options.Receivers), never both.
	Script   *isolate.Script
	Go       string
	Args     []byte // msgpack encoding of init's first argument; nil means undefined
	Limits   isolate.Limits
	Grants   []GrantSpec
	Shutdown time.Duration // time terminate gets on an orderly stop; 0 means 5 s
	// StartTimeout is the time init gets; past it the start fails and the
	// incarnation is killed. 0 means DefaultStartTimeout. Workers only: a
	// supervisor is up once each of its children is.
	StartTimeout time.Duration
	// Storage grants the worker durable storage (ctx.storage), kept
	// under its path on the node's storage backend; StorageQuota bounds
	// the bytes it may hold (0 means storage.DefaultQuota). JS workers only.
	Storage      bool
	StorageQuota int64

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

// IsSupervisor reports whether the spec declares a supervisor.
func (s *ChildSpec) IsSupervisor() bool { return s.Strategy != nil }

// GrantSpec gives a worker ctx.env[Name]: a capability with Rights over the
// process at path To (names from the root joined by "/").
type GrantSpec struct {
	Name   string
	To     string
	Rights capability.Rights
	// Target, when set, is what the capability designates instead of the
	// process at To: an outgoing HTTP grant (package egress).
	Target capability.Target
}

// Strategy is a supervisor's strategy as it appears in a spec: plain data
// (which children to restart, how many restarts a period allows), shared
// by every incarnation of the supervisor and by copies of the spec. It
// holds no runtime state: each incarnation gets its own Supervision, so a
// supervisor restarted by its parent starts with a fresh restart history,
// as a restarted OTP supervisor does. Package supervisor provides the
// strategies.
type Strategy interface {
	// NewSupervision returns the decisions of one supervisor incarnation,
	// with an empty restart history.
	NewSupervision() Supervision
	// String names the strategy, e.g. "one_for_one".
	String() string
}

// RestartType is the child's restart type, permanent when unset.
func (p *Process) RestartType() RestartType { return p.restartType() }

// restartType is the child's restart type, permanent when unset.
func (p *Process) restartType() RestartType {
	if p.owned.Load() {
		return Temporary // spawned with {link: true}; see linkSpawned
	}
	if p.spec.Restart == "" {
		return Permanent
	}
	return p.spec.Restart
}
