package mailbox

// Queue holds the messages that have reached their process and wait for a
// turn, in arrival order. Messages and notices wait in two rings, tagged
// with their arrival number, so that Pop takes the oldest of either and
// DropOldest, which drops messages only, works in O(1) however many
// notices wait ahead of the oldest message. The zero Queue is empty and
// ready to use. Not safe for concurrent use: only the owner's goroutine
// touches it.
type Queue[T any] struct {
	msgs, notes ring[T]
	seq         uint64
}

// PushMessage adds a message at the back.
func (q *Queue[T]) PushMessage(v T) {
	q.seq++
	q.msgs.push(q.seq, v)
}

// PushNotice adds a notice at the back: it waits its turn like a message
// but drop_oldest never drops it.
func (q *Queue[T]) PushNotice(v T) {
	q.seq++
	q.notes.push(q.seq, v)
}

// Pop takes the oldest message or notice.
func (q *Queue[T]) Pop() (T, bool) {
	switch {
	case q.msgs.n == 0 && q.notes.n == 0:
		var zero T
		return zero, false
	case q.notes.n == 0, q.msgs.n > 0 && q.msgs.frontSeq() < q.notes.frontSeq():
		return q.msgs.pop(), true
	default:
		return q.notes.pop(), true
	}
}

// DropOldest takes the oldest message, leaving notices in place.
func (q *Queue[T]) DropOldest() (T, bool) {
	if q.msgs.n == 0 {
		var zero T
		return zero, false
	}
	return q.msgs.pop(), true
}

// Len is the number of messages and notices waiting.
func (q *Queue[T]) Len() int { return q.msgs.n + q.notes.n }

// Reset drops everything and lets the backing arrays go.
func (q *Queue[T]) Reset() { *q = Queue[T]{} }

// ring is a growable circular buffer. It lets a burst's backing array go
// once it has emptied.
type ring[T any] struct {
	buf   []slot[T]
	head  int // index of the front
	n     int
	moved int // slots copied by grow, for tests: nothing else moves one
}

type slot[T any] struct {
	seq uint64
	v   T
}

// keepCap is the largest backing array an empty ring keeps.
const keepCap = 64

func (r *ring[T]) push(seq uint64, v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)%len(r.buf)] = slot[T]{seq, v}
	r.n++
}

func (r *ring[T]) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		// One slot: a ring that sees one message at a time (the stash of
		// nearly every process) keeps no more, and a burst doubles from it.
		size = 1
	}
	buf := make([]slot[T], size)
	for i := 0; i < r.n; i++ {
		buf[i] = r.buf[(r.head+i)%len(r.buf)]
	}
	r.moved += r.n
	r.buf, r.head = buf, 0
}

func (r *ring[T]) frontSeq() uint64 { return r.buf[r.head].seq }

func (r *ring[T]) pop() T {
	s := r.buf[r.head]
	r.buf[r.head] = slot[T]{} // let the value go
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	if r.n == 0 {
		r.head = 0
		if len(r.buf) > keepCap {
			r.buf = nil
		}
	}
	return s.v
}

// capacity is the length of the backing array, for tests.
func (r *ring[T]) capacity() int { return len(r.buf) }
