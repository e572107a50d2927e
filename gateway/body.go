package gateway

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// errNoBuffer is a body that does not fit in what its route may hold of
// request bodies at once.
var errNoBuffer = errors.New("http: the route's body buffer is full")

// errStalled is a body whose watch cut the connection's reads just as it
// ended: the server could read nothing more on it, so it is answered as
// stalled.
var errStalled = fmt.Errorf("http: the request body sent nothing for body_timeout: %w", os.ErrDeadlineExceeded)

// budget bounds the bytes of request bodies a route (or the routes
// without max_inflight, together) holds at once.
type budget struct {
	max   int64
	used  atomic.Int64
	stats *bodyCounters // the gateway's totals
}

// routeBudget is max_inflight times max_body, or the shared budget of the
// routes without max_inflight.
func routeBudget(r *Route, maxBody int64, shared *budget) *budget {
	if r.MaxInflight <= 0 {
		return shared
	}
	n := int64(math.MaxInt64)
	if maxBody <= math.MaxInt64/int64(r.MaxInflight) {
		n = int64(r.MaxInflight) * maxBody
	}
	return &budget{max: n, stats: shared.stats}
}

// take charges n bytes if they fit.
func (b *budget) take(n int64) bool {
	for {
		u := b.used.Load()
		if n > b.max-u {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			b.stats.bytes.Add(n)
			return true
		}
	}
}

func (b *budget) give(n int64) {
	b.used.Add(-n)
	b.stats.bytes.Add(-n)
}

// bodyHold is what one request holds of its route's budget; release is
// idempotent and runs on the request's goroutine.
type bodyHold struct {
	b *budget
	n int64
}

func (h *bodyHold) take(n int64) bool {
	if !h.b.take(n) {
		return false
	}
	h.n += n
	return true
}

func (h *bodyHold) release() {
	if h.n != 0 {
		h.b.give(h.n)
		h.n = 0
	}
}

// BodyStats is what the gateway holds of request bodies at one moment.
type BodyStats struct {
	Reading int64 // requests whose body is being read
	Bytes   int64 // bytes of buffer held for bodies, being read or waiting for their answer
}

type bodyCounters struct{ reading, bytes atomic.Int64 }

// Bodies reports what the gateway holds of request bodies now.
func (g *Gateway) Bodies() BodyStats {
	return BodyStats{Reading: g.bodies.reading.Load(), Bytes: g.bodies.bytes.Load()}
}

// firstRead is the most a body reads before its buffer exists: a client
// that has sent nothing holds no buffer.
const firstRead = 512

// readBody reads r's body, at most maxBody bytes, into a buffer grown only
// as bytes arrive, charging each growth to hold before it is made. The
// buffer at most doubles, and never past the declared length or maxBody, so
// a body holds less than twice what it sent. A body that sends nothing
// for idle has its read cut (a timeout error).
func readBody(w http.ResponseWriter, r *http.Request, maxBody int64, idle time.Duration, hold *bodyHold) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	reading := &hold.b.stats.reading
	reading.Add(1)
	defer reading.Add(-1)
	st := watchStall(w, idle)
	defer st.stop()
	limit := maxBody
	if r.ContentLength > 0 && r.ContentLength < limit {
		limit = r.ContentLength
	}
	src := http.MaxBytesReader(w, r.Body, maxBody)
	var body []byte
	first := st.first[:]
	for {
		var n int
		var err error
		if len(body) < cap(body) {
			n, err = src.Read(body[len(body):cap(body)])
			body = body[:len(body)+n]
		} else {
			n, err = src.Read(first)
			if n > 0 {
				size := min(max(2*int64(cap(body)), firstRead), limit)
				size = max(size, int64(len(body)+n))
				if !hold.take(size - int64(cap(body))) {
					return nil, errNoBuffer
				}
				grown := make([]byte, len(body)+n, size)
				copy(grown, body)
				copy(grown[len(body):], first[:n])
				body = grown
			}
		}
		if n > 0 {
			st.progress()
		}
		if err == io.EOF {
			if st.stop() {
				return nil, errStalled
			}
			return body, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// isTimeout reports whether a body read was cut by a read deadline: the
// idle one of watchStall or the server's read_timeout.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// stall cuts a body read that makes no progress for idle, by moving the
// connection's read deadline into the past. It leaves the deadline alone
// otherwise, so the server's read_timeout, counted from the request's
// first byte, still bounds the whole request. It also holds the bytes
// read before the body has room for them (one allocation, not two).
type stall struct {
	w     http.ResponseWriter
	first [firstRead]byte
	idle  time.Duration
	start time.Time
	last  atomic.Int64 // time of the last progress, since start

	mu   sync.Mutex
	t    *time.Timer
	done bool
	cut  bool
}

func watchStall(w http.ResponseWriter, idle time.Duration) *stall {
	s := &stall{w: w, idle: idle, start: time.Now()}
	s.mu.Lock()
	s.t = time.AfterFunc(idle, s.check)
	s.mu.Unlock()
	return s
}

func (s *stall) progress() { s.last.Store(int64(time.Since(s.start))) }

// check runs at most once per idle period of a read: if bytes came since
// the last check it waits again, else it cuts the read.
func (s *stall) check() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	if wait := s.idle - (time.Since(s.start) - time.Duration(s.last.Load())); wait > 0 {
		s.t.Reset(wait)
		return
	}
	s.done, s.cut = true, true
	_ = http.NewResponseController(s.w).SetReadDeadline(time.Unix(1, 0))
}

// stop ends the watch and reports whether it cut the reads; once it
// returns, check touches the connection no more.
func (s *stall) stop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	s.t.Stop()
	return s.cut
}

// cutRead moves the connection's read deadline into the past so the
// server reads nothing more of a body it refused, and closes after the
// answer.
func cutRead(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0))
}
