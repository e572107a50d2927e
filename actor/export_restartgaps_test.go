package actor

import (
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
)

// CallAnswered sends env to c's target as a call whose answer goes to
// answer, Go code that the tests make panic, as a bug in a caller's
// answer path would.
func CallAnswered(n *Node, c *capability.Capability, env *mailbox.Envelope, answer func(err error)) error {
	d := &deliver{env: env, call: &callRef{depth: 1, answer: func(r *reply) { answer(r.err) }}}
	return n.signal(c, capability.Send, "call", d)
}

// StopRacingRestart does what the operator's stop of p does once it has
// found p running, with no check of p's status: a stop that reaches p's
// actor after its supervisor has begun to restart it.
func StopRacingRestart(p *Process) {
	p.ops.mu.Lock()
	p.ops.stopped = true
	p.ops.mu.Unlock()
	p.node.system.Root.Stop(p.pid.Load())
}
