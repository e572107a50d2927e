package actor

import "github.com/cloister-rt/cloister/mailbox"

// WatchForNode gives p's running incarnation a monitor held for another
// node, whose notify runs on p's goroutine when the incarnation ends: the
// tests make it panic, as a bug in the code it calls would.
func WatchForNode(p *Process, notify func(reason string)) (noproc bool, err error) {
	reason, err := p.watchFor(p.node.nextRef.Add(1), notify)
	return reason == ReasonNoProc, err
}

// PendCall registers a call to p that its mailbox has admitted and that
// answer settles: if p stops for good first, its stop answers it.
func PendCall(p *Process, answer func(err error)) error {
	d := &deliver{env: mailbox.NewEnvelope([]byte{0xc0}, nil),
		call: &callRef{depth: 1, answer: func(r *reply) { answer(r.err) }}}
	return p.admit(d)
}
