package debughttp

import (
	"time"

	"github.com/cloister-rt/cloister/actor"
)

// Process is one entry of GET /debug/tree.
type Process struct {
	ID           uint64 `json:"id"`
	Name         string `json:"name"`
	Path         string `json:"path"`
	Kind         string `json:"kind"`
	Status       string `json:"status"`
	Incarnation  uint64 `json:"incarnation"`
	Restarts     uint64 `json:"restarts"`
	MailboxDepth int64  `json:"mailbox_depth"`
	Script       string `json:"script,omitempty"`
	Strategy     string `json:"strategy,omitempty"`
	Crashes      int    `json:"crashes"`
	// TurnHeldMS is how long the turn holding the mailbox has waited on a
	// promise, once that is past the node's turn warning; 0 otherwise.
	TurnHeldMS int64      `json:"turn_held_ms,omitempty"`
	Children   []*Process `json:"children,omitempty"`
	// MoreChildren counts the children left out of Children by a bounded
	// tree (GET /debug/tree?children=N); the process table lists them.
	MoreChildren int `json:"more_children,omitempty"`
}

// Tree snapshots the process tree below p.
func Tree(p *actor.Process) *Process {
	out := snapshot(p)
	for _, ch := range p.Children() {
		out.Children = append(out.Children, Tree(ch))
	}
	return out
}

// snapshot is p's entry without its children.
func snapshot(p *actor.Process) *Process {
	out := &Process{
		ID: p.ID(), Name: p.Name(), Path: p.Path(), Kind: p.Kind().String(), Status: p.Status().String(),
		Incarnation: p.Incarnation(), Restarts: p.Restarts(), MailboxDepth: p.MailboxDepth(), Script: p.Script(),
		Strategy: p.Strategy(), Crashes: len(p.Crashes()),
	}
	if since := p.TurnHeldSince(); !since.IsZero() {
		out.TurnHeldMS = max(1, time.Since(since).Milliseconds())
	}
	return out
}

// Detail is the answer of GET /debug/processes/{id}.
type Detail struct {
	ID           uint64       `json:"id"`
	Name         string       `json:"name"`
	Path         string       `json:"path"`
	Kind         string       `json:"kind"`
	Status       string       `json:"status"`
	Parent       *uint64      `json:"parent,omitempty"`
	Incarnation  uint64       `json:"incarnation"`
	Restarts     uint64       `json:"restarts"`
	Script       string       `json:"script,omitempty"`
	Strategy     string       `json:"strategy,omitempty"`
	Shutdown     string       `json:"shutdown"`
	Limits       *Limits      `json:"limits,omitempty"`
	Mailbox      Mailbox      `json:"mailbox"`
	Counters     Counters     `json:"counters"`
	Storage      *Storage     `json:"storage,omitempty"`
	Capabilities []Capability `json:"capabilities"`
	Crashes      []Crash      `json:"crashes"`
	Children     []uint64     `json:"children,omitempty"`
}

// Limits are a worker's limits.
type Limits struct {
	CPU          string `json:"cpu"`
	Stack        int    `json:"stack"`
	MessageBytes int    `json:"message_bytes"`
	Timers       int    `json:"timers"`
}

// Mailbox is a process's queue.
type Mailbox struct {
	Depth int64  `json:"depth"`
	Bytes *int64 `json:"bytes,omitempty"`
}

// Storage is what a worker granted storage holds, as of its last commit.
type Storage struct {
	Bytes int64 `json:"bytes"`
	Keys  int64 `json:"keys"`
	Quota int64 `json:"quota"`
}

// Counters are a process's running totals.
type Counters struct {
	Handled     uint64 `json:"handled"`
	BusyMS      int64  `json:"busy_ms"`      // see actor.Process.Busy
	CPUMicros   int64  `json:"cpu_us"`       // see actor.Process.CPUTime
	MemoryBytes int64  `json:"memory_bytes"` // see actor.Process.Memory
}

// Capability is one capability a process holds: self, a grant (by name),
// or one received in a message or made by the script (no name).
type Capability struct {
	Name    string   `json:"name"`
	Target  string   `json:"target"`
	Rights  []string `json:"rights"`
	Revoked bool     `json:"revoked,omitempty"`
}

// Crash is one crash report, newest last.
type Crash struct {
	Incarnation uint64 `json:"incarnation"`
	Reason      string `json:"reason"`
	Error       string `json:"error,omitempty"`
	Stack       string `json:"stack,omitempty"`
	Message     any    `json:"message,omitempty"`
	Time        string `json:"time"`
	Restarted   bool   `json:"restarted"`
}

// mailboxByter is implemented by processes that account their mailbox in bytes.
type mailboxByter interface{ MailboxBytes() int64 }

// Details snapshots everything the endpoint shows about p.
func Details(p *actor.Process) *Detail {
	d := &Detail{
		ID: p.ID(), Name: p.Name(), Path: p.Path(), Kind: p.Kind().String(), Status: p.Status().String(),
		Incarnation: p.Incarnation(), Restarts: p.Restarts(), Script: p.Script(), Strategy: p.Strategy(),
		Shutdown: p.ShutdownTimeout().String(),
		Mailbox:  Mailbox{Depth: p.MailboxDepth()},
		Counters: Counters{Handled: p.Handled(), BusyMS: p.Busy().Milliseconds(),
			CPUMicros: p.CPUTime().Microseconds(), MemoryBytes: p.Memory()},
		Capabilities: []Capability{},
		Crashes:      []Crash{},
	}
	if parent := p.Parent(); parent != nil {
		id := parent.ID()
		d.Parent = &id
	}
	if mb, ok := any(p).(mailboxByter); ok {
		b := mb.MailboxBytes()
		d.Mailbox.Bytes = &b
	}
	if u, quota, ok := p.StorageUsage(); ok {
		d.Storage = &Storage{Bytes: u.Bytes, Keys: u.Keys, Quota: quota}
	}
	if p.Kind() == actor.KindWorker {
		l := p.Limits()
		d.Limits = &Limits{CPU: l.CPU.String(), Stack: l.Stack, MessageBytes: l.MessageBytes, Timers: l.Timers}
	}
	for _, h := range p.Held() {
		d.Capabilities = append(d.Capabilities, Capability{Name: h.Name, Target: h.Target, Rights: h.Rights, Revoked: h.Revoked})
	}
	for _, c := range p.Crashes() {
		out := Crash{Incarnation: c.Incarnation, Reason: c.Reason, Stack: c.Stack,
			Time: c.Time.UTC().Format(time.RFC3339Nano), Restarted: c.Restarted}
		if c.Err != nil {
			out.Error = c.Err.Error()
		}
		if len(c.Message) > 0 {
			if v, err := toJSONValue(c.Message); err == nil {
				out.Message = v
			} else {
				out.Message = "[undecodable: " + err.Error() + "]"
			}
		}
		d.Crashes = append(d.Crashes, out)
	}
	for _, ch := range p.Children() {
		d.Children = append(d.Children, ch.ID())
	}
	return d
}
