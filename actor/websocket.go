package actor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/isolate"
)

// WebSockets accepted by a script's fetch are held by the host, not by the
// incarnation: they belong to the process, so a restart keeps them and
// the next incarnation finds them (ctx.getWebSockets). Frames arrive as
// turns through the mailbox; sends go through a bounded queue per socket,
// and a client too slow to drain it is closed with 1013.

// SocketConn is a WebSocket connection as the host holds it: the gateway
// adapts its library's connection to it.
type SocketConn interface {
	// Write sends one frame; it returns when the frame is written or ctx ends.
	Write(ctx context.Context, text bool, data []byte) error
	// Close sends a close frame with code and reason and closes the connection.
	Close(code int, reason string) error
}

// Send-side bounds of one socket.
const (
	SocketSendFrames = 256     // frames queued for the client
	SocketSendBytes  = 1 << 20 // bytes queued for the client
	socketWriteTime  = 10 * time.Second
)

// Close codes the host uses.
const (
	CloseGoingAway  = 1001 // the process or the gateway stopped
	CloseError      = 1011 // the host failed
	CloseTryLater   = 1013 // the send buffer or the mailbox is full
	CloseAbnormal   = 1006 // no close frame: the connection dropped
	closeNoneStatus = 1005
)

// Socket is one WebSocket held for a process.
type Socket struct {
	id   uint64
	proc *Process
	tags []string

	mu       sync.Mutex
	conn     SocketConn // nil until the upgrade is done
	claimed  bool       // an upgrade took it (PendingSocket); no other may
	closed   bool       // no more sends
	finished bool       // removed from the registry
	out      chan sockFrame
	queued   atomic.Int64 // bytes in out
	done     chan struct{}
}

type sockFrame struct {
	text   bool
	data   []byte
	close  bool
	code   int
	reason string
}

var (
	socketSeq atomic.Uint64
	socketsMu sync.Mutex
	sockets   = make(map[*Process]map[uint64]*Socket)
)

// ID is the socket's id, unique in the node.
func (s *Socket) ID() uint64 { return s.id }

func socketsOf(p *Process) []*Socket {
	socketsMu.Lock()
	defer socketsMu.Unlock()
	out := make([]*Socket, 0, len(sockets[p]))
	for _, s := range sockets[p] {
		out = append(out, s)
	}
	return out
}

func socketOf(p *Process, id uint64) *Socket {
	socketsMu.Lock()
	defer socketsMu.Unlock()
	return sockets[p][id]
}

// Sockets is the number of WebSockets the process holds.
func (p *Process) Sockets() int {
	socketsMu.Lock()
	defer socketsMu.Unlock()
	return len(sockets[p])
}

// AcceptWebSocket implements isolate.WebSocketHost: the script's fetch
// accepts the upgrade of request reqID.
func (h *host) AcceptWebSocket(reqID uint64, tags []string, max int) (uint64, error) {
	w := h.w()
	if w.current == nil || w.current.web == nil || w.current.web.id != reqID {
		return 0, errors.New("acceptWebSocket: not the request being handled")
	}
	p := w.proc
	socketsMu.Lock()
	defer socketsMu.Unlock()
	if n := len(sockets[p]); n >= max {
		err := fmt.Errorf("acceptWebSocket: %s holds %d WebSockets, its limit", p.path, n)
		p.node.emit(LimitHit{Path: p.path, Limit: "sockets", Err: err})
		return 0, fmt.Errorf("%w: %w", isolate.ErrTooManyProcesses, err)
	}
	s := &Socket{id: socketSeq.Add(1), proc: p, tags: tags, out: make(chan sockFrame, SocketSendFrames), done: make(chan struct{})}
	if sockets[p] == nil {
		sockets[p] = make(map[uint64]*Socket)
	}
	sockets[p][s.id] = s
	return s.id, nil
}

// SendWebSocket implements isolate.WebSocketHost.
func (h *host) SendWebSocket(id uint64, data []byte, text bool) error {
	s := socketOf(h.w().proc, id)
	if s == nil {
		return errors.New("WebSocket is closed")
	}
	return s.enqueue(sockFrame{text: text, data: data})
}

// CloseWebSocket implements isolate.WebSocketHost.
func (h *host) CloseWebSocket(id uint64, code int, reason string) error {
	s := socketOf(h.w().proc, id)
	if s == nil {
		return nil
	}
	s.closeWith(code, reason)
	return nil
}

// DropWebSocket implements isolate.WebSocketHost.
func (h *host) DropWebSocket(id uint64) {
	if s := socketOf(h.w().proc, id); s != nil {
		s.finish()
	}
}

// WebSockets implements isolate.WebSocketHost: the open sockets with tag
// ("" for all), oldest first.
func (h *host) WebSockets(tag string) []isolate.WebSocketInfo {
	var out []isolate.WebSocketInfo
	for _, s := range socketsOf(h.w().proc) {
		s.mu.Lock()
		open := !s.closed
		s.mu.Unlock()
		if !open {
			continue
		}
		if tag != "" && !hasTag(s.tags, tag) {
			continue
		}
		out = append(out, isolate.WebSocketInfo{ID: s.id, Tags: s.tags})
	}
	sortInfos(out)
	return out
}

func hasTag(tags []string, t string) bool {
	for _, x := range tags {
		if x == t {
			return true
		}
	}
	return false
}

func sortInfos(v []isolate.WebSocketInfo) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j].ID < v[j-1].ID; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// enqueue queues a frame for the client; past the bounds the client is too
// slow, and the socket is closed with 1013.
func (s *Socket) enqueue(f sockFrame) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("WebSocket is closed")
	}
	if s.queued.Load()+int64(len(f.data)) > SocketSendBytes {
		s.mu.Unlock()
		s.kill(CloseTryLater, "send buffer full")
		return nil
	}
	select {
	case s.out <- f:
		s.queued.Add(int64(len(f.data)))
		s.mu.Unlock()
	default:
		s.mu.Unlock()
		s.kill(CloseTryLater, "send buffer full")
	}
	return nil
}

// closeWith queues a close after the frames already queued.
func (s *Socket) closeWith(code int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	select {
	case s.out <- sockFrame{close: true, code: code, reason: reason}:
	default:
		go s.hardClose(code, reason)
	}
}

// kill closes the socket at once, dropping what is queued.
func (s *Socket) kill(code int, reason string) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	go s.hardClose(code, reason)
}

func (s *Socket) hardClose(code int, reason string) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn != nil {
		_ = conn.Close(code, reason)
		return
	}
	// Not upgraded yet: the gateway finds it closed when it attaches.
}

// Attach gives the socket its connection once the upgrade is done and
// starts writing what the script has queued. It reports false if the
// socket was closed meanwhile (the connection is then closed).
func (s *Socket) Attach(conn SocketConn) bool {
	s.mu.Lock()
	s.conn = conn
	closed := s.closed && len(s.out) == 0
	s.mu.Unlock()
	if closed {
		_ = conn.Close(CloseGoingAway, "")
		return false
	}
	go s.writer(conn)
	return true
}

func (s *Socket) writer(conn SocketConn) {
	for {
		select {
		case f := <-s.out:
			s.queued.Add(-int64(len(f.data)))
			if f.close {
				_ = conn.Close(f.code, f.reason)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), socketWriteTime)
			err := conn.Write(ctx, f.text, f.data)
			cancel()
			if err != nil {
				s.kill(CloseTryLater, "write failed")
				return
			}
		case <-s.done:
			return
		}
	}
}

// PendingSocket returns the socket id that the process c designates
// accepted in its fetch, or nil. The first caller claims it: a second
// upgrade answered with the same socket (a script handing a request the
// socket another one accepted) gets nil, so one socket never has two
// connections.
func PendingSocket(c *capability.Capability, id uint64) *Socket {
	p, ok := c.Target().(*Process)
	if !ok {
		return nil
	}
	s := socketOf(p, id)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil || s.claimed {
		return nil
	}
	s.claimed = true
	return s
}

// SocketMessage delivers a frame from the client to the process c
// designates as a webSocketMessage turn, through its mailbox and limits.
func (n *Node) SocketMessage(c *capability.Capability, s *Socket, data []byte, text bool) error {
	var v any = data
	if text {
		v = string(data)
	}
	env, err := codec.Encode(v)
	if err != nil {
		return err
	}
	return n.signal(c, capability.Send, "websocket", &deliver{env: env, web: &webTurn{socket: s.id, kind: wsMessage}})
}

// SocketClosed ends the socket: the process c designates gets a
// webSocketClose turn with code and reason, and the socket leaves its
// registry. Safe to call twice.
func (n *Node) SocketClosed(c *capability.Capability, s *Socket, code int, reason string) {
	if !s.finish() {
		return
	}
	env, err := codec.Encode([]any{code, reason})
	if err != nil {
		return
	}
	_ = n.signal(c, capability.Send, "websocket", &deliver{env: env, web: &webTurn{socket: s.id, kind: wsClose}})
}

// finish removes the socket from its process's registry; it reports false
// if that was done already.
func (s *Socket) finish() bool {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return false
	}
	s.finished, s.closed = true, true
	s.mu.Unlock()
	close(s.done)
	socketsMu.Lock()
	delete(sockets[s.proc], s.id)
	if len(sockets[s.proc]) == 0 {
		delete(sockets, s.proc)
	}
	socketsMu.Unlock()
	return true
}

// closeSockets closes with 1001 every WebSocket of a process that is
// forgotten for good: its clients, idle or not, are not left connected
// to nothing, and a respawn under the same key (which starts with no
// sockets) cannot add to connections nobody counts any more.
func closeSockets(p *Process) {
	for _, s := range socketsOf(p) {
		s.kill(CloseGoingAway, "going away")
		s.finish()
	}
}

// Kinds of web turns.
const (
	webFetch = iota
	wsMessage
	wsClose
)

// socketTurn runs a WebSocket event on the script's handlers.
func (w *worker) socketTurn(d *deliver) {
	kind := isolate.SocketMessage
	if d.web.kind == wsClose {
		kind = isolate.SocketClose
	}
	w.iso.SocketEvent(kind, d.web.socket, d.env, w.timed(func(o isolate.Outcome) { w.turnDone(d, o) }))
	w.check(nil)
}
