package actor

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/mailbox"
)

// Send delivers v from Go to the process c designates, as a script's
// cap.send does: it passes the same capability check (send) and mailbox
// limits, and does not wait for the message to be handled. v is encoded
// with package codec: Go structs with msgpack tags, time.Time (a Date),
// []byte (a Uint8Array), codec.Undefined and capabilities at any depth,
// which the receiver gets as handles. ctx only cancels before the send.
func (n *Node) Send(ctx context.Context, c *capability.Capability, v any) error {
	env, err := codec.Encode(v)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return n.SendEnvelope(ctx, c, env)
}

// Call delivers v from Go as a call, as a script's cap.call does, and
// waits for the answer, the callee's crash, or ctx. The answer is decoded
// into out (a pointer, as codec.Decode takes; nil discards it): a
// capability in it decodes into a *capability.Capability that Go can
// send to.
func (n *Node) Call(ctx context.Context, c *capability.Capability, v any, out any) error {
	env, err := codec.Encode(v)
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	res, err := n.CallEnvelope(ctx, c, env)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := codec.Decode(res, out); err != nil {
		return fmt.Errorf("call: answer: %w", err)
	}
	return nil
}

// SendEnvelope is Send for a message already encoded, for programs that
// send the same bytes many times.
func (n *Node) SendEnvelope(ctx context.Context, c *capability.Capability, env *mailbox.Envelope) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return n.signal(c, capability.Send, "send", &deliver{env: env})
}

// CallEnvelope is Call for a message already encoded; it returns the
// answer's envelope: its bytes and the capabilities they refer to.
func (n *Node) CallEnvelope(ctx context.Context, c *capability.Capability, env *mailbox.Envelope) (*mailbox.Envelope, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch := make(chan *reply, 1)
	d := &deliver{env: env, call: &callRef{answer: func(r *reply) { ch <- r }, depth: 1}}
	if err := n.signal(c, capability.Send, "call", d); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		if r.env == nil {
			return nil, errors.New("call: no reply")
		}
		return r.env, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// MessageEnvelope returns the message that was being handled when the
// crash happened, with the capabilities it carried, for codec.Decode; nil
// if there was none.
func (c *Crash) MessageEnvelope() *mailbox.Envelope {
	if c.Message == nil {
		return nil
	}
	return mailbox.NewEnvelope(c.Message, c.MessageCaps)
}
