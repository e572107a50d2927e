package actor

import (
	"context"
	"fmt"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
)

// Send delivers a msgpack-encoded message from Go, for embedding programs
// and tests. It passes the same capability check as a script's send.
func (n *Node) Send(c *capability.Capability, msg []byte) error {
	return n.signal(c, capability.Send, "send", &deliver{env: mailbox.NewEnvelope(msg, nil)})
}

// Call delivers a msgpack-encoded message as a call from Go and waits for
// the msgpack-encoded answer, the callee's crash, or ctx.
func (n *Node) Call(ctx context.Context, c *capability.Capability, msg []byte) ([]byte, error) {
	ch := make(chan *reply, 1)
	d := &deliver{env: mailbox.NewEnvelope(msg, nil), call: &callRef{answer: func(r *reply) { ch <- r }, depth: 1}}
	if err := n.signal(c, capability.Send, "call", d); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		if r.env == nil {
			return nil, fmt.Errorf("call: no reply")
		}
		return r.env.Data(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
