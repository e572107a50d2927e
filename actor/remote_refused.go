package actor

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// Refusals of one-way frames. A send, exit or kill to another node gets
// no answer when it is carried out, and a KindRefused when it is not; the
// refusal becomes a Denied or LimitHit event here, naming the process that
// sent the frame. A peer must not be able to name any process it likes:
// so every one-way frame carries a reference this node chose (Frame.ID,
// from the node's counter of references), and this node remembers, per
// peer, the last maxSentLog of them with the process that sent each. A
// refusal is believed only if it names one of those, not refused before;
// the event then names the process and the operation remembered, never
// what the refusal says. Anything else (a forged reference, a replay, a
// refusal of a frame older than the log remembers) is dropped and counted
// (ClusterInfo.RefusalsDropped). Refusals of monitors and links are
// checked against the monitor and link tables, which hold the same
// information.

// maxSentLog bounds the one-way frames remembered per peer: 16,384 of
// them, some 640 KiB per peer at most (entries of 40 bytes), allocated as
// the log grows. Past it the oldest are forgotten: a refusal of one of
// them comes too late and is dropped, counted, with no event here (the
// node that refused reports it on its side too).
const maxSentLog = 1 << 14

// sentOne is a one-way frame sent to a peer that may still be refused.
type sentOne struct {
	id      uint64
	path    string // the process that sent it
	op      string // send, exit or kill
	refused bool   // answered already, or never sent
}

// sentLog is the one-way frames sent to one peer, oldest first, in a ring
// in the order of their references.
type sentLog struct {
	ring []sentOne
	head int
	n    int
}

// sentLogs is a node's sentLog per peer.
type sentLogs struct {
	mu      sync.Mutex
	peers   map[string]*sentLog
	dropped atomic.Uint64 // refusals that named no frame awaiting an answer
}

// at returns the i-th oldest entry of l.
func (l *sentLog) at(i int) *sentOne { return &l.ring[(l.head+i)%len(l.ring)] }

// push appends e, growing the ring up to maxSentLog, past which the
// oldest entry gives way.
func (l *sentLog) push(e sentOne) {
	if l.n == len(l.ring) {
		if len(l.ring) >= maxSentLog {
			*l.at(0) = sentOne{}
			l.head = (l.head + 1) % len(l.ring)
			l.n--
		} else {
			grown := make([]sentOne, max(64, 2*len(l.ring)))
			for i := 0; i < l.n; i++ {
				grown[i] = *l.at(i)
			}
			l.ring, l.head = grown, 0
		}
	}
	*l.at(l.n) = e
	l.n++
}

// find returns the entry of reference id, or nil.
func (l *sentLog) find(id uint64) *sentOne {
	i := sort.Search(l.n, func(i int) bool { return l.at(i).id >= id })
	if i < l.n && l.at(i).id == id {
		return l.at(i)
	}
	return nil
}

// oneWay takes the reference of a one-way frame that the process at path
// sends to peer for op, and remembers it until the peer refuses it.
func (r *remote) oneWay(peer, path, op string) uint64 {
	s := &r.sent
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.peers[peer]
	if l == nil {
		if s.peers == nil {
			s.peers = make(map[string]*sentLog)
		}
		l = &sentLog{}
		s.peers[peer] = l
	}
	// Taken under the lock, so the log stays in the order of references.
	id := r.n.nextRef.Add(1)
	l.push(sentOne{id: id, path: path, op: op})
	return id
}

// unsent marks the one-way frame id to peer as never sent: no refusal of
// it can be true.
func (r *remote) unsent(peer string, id uint64) {
	s := &r.sent
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.peers[peer]; l != nil {
		if e := l.find(id); e != nil {
			e.refused = true
		}
	}
}

// refusedOne takes the one-way frame id to peer that a refusal names: the
// process that sent it and the operation. ok is false when peer was sent
// no such frame awaiting an answer.
func (r *remote) refusedOne(peer string, id uint64) (path, op string, ok bool) {
	s := &r.sent
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.peers[peer]
	if l == nil {
		return "", "", false
	}
	e := l.find(id)
	if e == nil || e.refused {
		return "", "", false
	}
	e.refused = true
	return e.path, e.op, true
}

// forgetSent drops what was sent to peer, which is lost: its successor
// answers none of it.
func (r *remote) forgetSent(peer string) {
	s := &r.sent
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.peers, peer)
}

// sendOneWay sends a one-way frame f of op, which the process at path
// sends, to peer, under a reference a refusal must name; f holds size
// bytes of the outbox ob, if not nil, until peer has taken it.
func (r *remote) sendOneWay(peer, path, op string, f *wire.Frame, ob *mailbox.Mailbox, size int64) error {
	f.ID = r.oneWay(peer, path, op)
	if err := r.sendCharged(peer, f, ob, size); err != nil {
		r.unsent(peer, f.ID)
		return err
	}
	return nil
}

// onRefused turns a refusal of a one-way request into what this node
// reports: a monitor's down or a link's exit signal with reason noproc,
// and a Denied or LimitHit event naming the local process that made the
// request, as this node recorded it. A refusal that names no request of
// this node to peer awaiting an answer is dropped and counted.
func (r *remote) onRefused(peer string, f *wire.Frame) {
	var path, op string
	found := false
	if f.ID != 0 {
		if m := r.takeMon(peer, f.ID); m != nil {
			m.notify(ReasonNoProc)
			path, op, found = m.holder, "monitor", true
			if m.watcher != nil {
				path = m.watcher.path
			}
		} else if rl := r.takeLink(linkKey{peer: peer, id: f.ID}); rl != nil {
			op, found = "link", true
			if rl.local != nil {
				rl.local.tell(&exitSignal{inc: rl.linc, from: rl.remoteName(), reason: ReasonNoProc, linked: true})
				path = rl.local.path
			}
		} else {
			path, op, found = r.refusedOne(peer, f.ID)
		}
	}
	if !found {
		r.sent.dropped.Add(1)
		r.n.log.Debug("a refusal from a node names no request awaiting an answer; dropped", "node", peer, "id", f.ID)
		return
	}
	err := fmt.Errorf("node %s refused: %w", peer, localError(op, f.Err))
	switch {
	case errors.Is(err, capability.ErrDenied):
		r.n.emit(Denied{Op: op, Err: err, Path: path})
	case errors.Is(err, isolate.ErrMailboxFull):
		r.n.emit(LimitHit{Path: path, Limit: mailbox.LimitMailbox, Err: err})
	default:
		r.n.log.Debug("a node refused a request", "node", peer, keyProcess, path, keyError, err)
	}
}
