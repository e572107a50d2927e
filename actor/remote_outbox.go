package actor

import (
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/mailbox"
)

// The outbox quota across nodes. On one node a message is charged to its
// sender's outbox (mailbox.Limits.OutboxBytes) from the moment it is
// admitted to the target's mailbox until its turn starts or it is
// dropped. A message to another node is charged from the moment it is
// queued for that node until that node has taken it: admitted it to the
// target's mailbox, refused it, or dropped it. The transport tells when
// (wire.Tracker): it gives the bytes back once the peer has acknowledged
// the frame, which a peer does only after its handler acted on it and no
// longer holds the sender back (remote_flow.go), and when the frame is
// lost instead (the peer is lost, the transport closes). On the receiving
// node the message is charged to nobody's outbox: its sender is not
// there. A sender past its quota gets MailboxFull, as on one node. A
// transport that cannot tell (not a wire.Tracker) leaves messages to
// other nodes uncharged.

// outboxCredit is a sender's mailbox as the credit of a frame it sent.
type outboxCredit mailbox.Mailbox

// Credit implements wire.Credit.
func (o *outboxCredit) Credit(n int64) { (*mailbox.Mailbox)(o).ReturnOutbox(n) }

// tracker returns t as a wire.Tracker, or nil.
func tracker(t wire.Transport) wire.Tracker {
	tr, _ := t.(wire.Tracker)
	return tr
}

// chargeOutbox charges d's bytes to its sender's outbox, for a frame to
// another node, or refuses past the quota. It returns the outbox charged
// (nil for a sender outside any process, a message forwarded for another
// node, or a transport that cannot tell when the frame was taken) and
// the bytes.
func (r *remote) chargeOutbox(d *deliver) (*mailbox.Mailbox, int64, error) {
	ob := d.from.mailbox()
	if ob == nil || r.tracker == nil {
		return nil, 0, nil
	}
	size := int64(d.env.Size())
	if err := ob.ChargeOutbox(size); err != nil {
		r.n.emit(LimitHit{Path: d.from.path, Limit: mailbox.LimitOutbox, Err: err})
		return nil, 0, err
	}
	return ob, size, nil
}

// returnOutbox gives back what chargeOutbox charged, for a frame not sent.
func returnOutbox(ob *mailbox.Mailbox, size int64) {
	if ob != nil {
		ob.ReturnOutbox(size)
	}
}

// sendCharged sends f to peer holding size bytes of the outbox ob, if not
// nil, until peer has taken it; if f is not sent they are given back.
func (r *remote) sendCharged(peer string, f *wire.Frame, ob *mailbox.Mailbox, size int64) error {
	if ob == nil {
		return r.send(peer, f)
	}
	if err := r.tracker.SendTracked(peer, f, (*outboxCredit)(ob), size); err != nil {
		ob.ReturnOutbox(size)
		r.unsentEnv(peer, f.Env)
		return sendError(peer, err)
	}
	return nil
}
