package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"

	"github.com/coder/websocket"
)

// WebSocket defaults of a route.
const (
	DefaultMaxSockets = 100      // per actor
	DefaultMaxFrame   = 64 << 10 // bytes of one message from a client
)

// sockConn adapts a coder/websocket connection to actor.SocketConn.
type sockConn struct{ c *websocket.Conn }

func (s sockConn) Write(ctx context.Context, text bool, data []byte) error {
	typ := websocket.MessageBinary
	if text {
		typ = websocket.MessageText
	}
	return s.c.Write(ctx, typ, data)
}

func (s sockConn) Close(code int, reason string) error {
	return s.c.Close(websocket.StatusCode(code), reason)
}

// conns are the WebSocket connections a gateway holds, closed when it stops.
type conns struct {
	mu     sync.Mutex
	set    map[*websocket.Conn]struct{}
	closed bool
}

func (cs *conns) add(c *websocket.Conn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return false
	}
	if cs.set == nil {
		cs.set = make(map[*websocket.Conn]struct{})
	}
	cs.set[c] = struct{}{}
	return true
}

func (cs *conns) remove(c *websocket.Conn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.set, c)
}

// closeAll closes every connection with 1001 and refuses new ones until
// reset.
func (cs *conns) closeAll() {
	cs.mu.Lock()
	all := make([]*websocket.Conn, 0, len(cs.set))
	for c := range cs.set {
		all = append(all, c)
	}
	cs.closed = true
	cs.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Close(websocket.StatusGoingAway, "server stopping")
		}()
	}
	wg.Wait()
}

func (cs *conns) reset() {
	cs.mu.Lock()
	cs.closed = false
	cs.mu.Unlock()
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// upgrade completes the WebSocket the script accepted and relays the
// client's frames to it as turns until either side closes.
func (h *handler) upgrade(w http.ResponseWriter, r *http.Request, to *capability.Capability, res *isolate.HTTPResponse) {
	s := actor.PendingSocket(to, res.WS)
	if s == nil {
		h.g.log.Warn("http: fetch answered 101 without a WebSocket it accepted", "route", h.route.Pattern)
		fail(w, http.StatusInternalServerError)
		return
	}
	opts := &websocket.AcceptOptions{}
	for _, kv := range res.Headers {
		if !strings.EqualFold(kv[0], "sec-websocket-protocol") {
			continue
		}
		if v, ok := isolate.HeaderBytes(kv[1]); ok && validValue(v) {
			opts.Subprotocols = append(opts.Subprotocols, strings.TrimSpace(v))
		}
	}
	conn, err := websocket.Accept(w, r, opts)
	if err != nil {
		// Accept has answered the client (403 for a foreign origin, 400...).
		h.node.SocketClosed(to, s, actor.CloseAbnormal, "")
		return
	}
	if !h.g.conns.add(conn) {
		_ = conn.Close(websocket.StatusGoingAway, "server stopping")
		h.node.SocketClosed(to, s, actor.CloseGoingAway, "")
		return
	}
	defer h.g.conns.remove(conn)
	limit := int64(h.route.MaxFrame)
	if p, ok := to.Target().(*actor.Process); ok {
		limit = min(limit, int64(p.Limits().MessageBytes))
	}
	conn.SetReadLimit(limit)
	if !s.Attach(sockConn{conn}) {
		h.node.SocketClosed(to, s, actor.CloseGoingAway, "")
		return
	}
	ctx := context.Background()
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			code, reason := int(websocket.CloseStatus(err)), ""
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				reason = ce.Reason
			}
			if code < 0 {
				code = actor.CloseAbnormal
				_ = conn.CloseNow()
			}
			h.node.SocketClosed(to, s, code, reason)
			return
		}
		if err := h.node.SocketMessage(to, s, data, typ == websocket.MessageText); err != nil {
			code, reason := actor.CloseError, "internal error"
			switch {
			case errors.Is(err, isolate.ErrMailboxFull):
				code, reason = actor.CloseTryLater, "try again later"
			case errors.Is(err, isolate.ErrNoProc):
				code, reason = actor.CloseGoingAway, "going away"
			}
			_ = conn.Close(websocket.StatusCode(code), reason)
			h.node.SocketClosed(to, s, code, reason)
			return
		}
	}
}
