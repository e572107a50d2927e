package actor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// webTurn marks a delivery as an HTTP request for the script's fetch
// export rather than a message for receive.
type webTurn struct {
	mu        sync.Mutex // orders the answer against the client going away
	id        uint64
	cancelled atomic.Bool // the client went away: drop it if still queued
	kind      int         // webFetch, wsMessage or wsClose
	socket    uint64      // the socket of a WebSocket event
}

// webAbort tells a worker that the client of request id went away.
type webAbort struct{ web *webTurn }

// ErrRequestTooLarge is an HTTP request larger than its target's
// message_bytes limit.
var ErrRequestTooLarge = errors.New("request too large")

// webSeq numbers HTTP requests node-wide, so an abort names its request.
var webSeq atomic.Uint64

// Fetch delivers an HTTP request to the script that c designates, through
// its mailbox with the limits of any message, and waits for its fetch
// export's answer. req and the answer are msgpack of isolate.HTTPRequest
// and isolate.HTTPResponse. It needs the send right.
//
// Errors: isolate.ErrMailboxFull when the mailbox is full, isolate.ErrNoProc
// when the process is gone, isolate.ErrCalleeCrashed when the turn crashed
// it, isolate.ErrNoFetch when the script (or a Go actor) has no fetch
// export, and ctx's error when ctx ends first: then the request is dropped
// if it is still queued, and its request.signal aborts if it is running.
func (n *Node) Fetch(ctx context.Context, c *capability.Capability, req *mailbox.Envelope) (*mailbox.Envelope, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, _ := c.Target().(*Process)
	if p != nil && p.spec.Go != "" {
		if _, err := n.target(c, capability.Send, "fetch"); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s is a Go actor", isolate.ErrNoFetch, p.path)
	}
	if p != nil {
		if lim := n.limitsFor(p.spec.Limits).MessageBytes; len(req.Data()) > lim {
			return nil, fmt.Errorf("%w: %d bytes, over %s's message_bytes limit of %d", ErrRequestTooLarge, len(req.Data()), p.path, lim)
		}
	}
	ch := make(chan *reply, 1)
	web := &webTurn{id: webSeq.Add(1)}
	answer := func(r *reply) {
		web.mu.Lock()
		defer web.mu.Unlock()
		if web.cancelled.Load() {
			n.dropAnswer(c, p, r)
			return
		}
		ch <- r
	}
	d := &deliver{env: req, web: web, call: &callRef{answer: answer, depth: 1}}
	if err := n.signal(c, capability.Send, "fetch", d); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		if r.env == nil {
			return nil, errors.New("fetch: no answer")
		}
		return r.env, nil
	case <-ctx.Done():
		web.mu.Lock()
		web.cancelled.Store(true)
		select {
		case r := <-ch: // answered meanwhile: nobody will read it
			n.dropAnswer(c, p, r)
		default:
		}
		web.mu.Unlock()
		if p != nil {
			p.tell(&webAbort{web: web})
		}
		return nil, ctx.Err()
	}
}

// dropAnswer discards the answer to a request whose client has gone
// away; a WebSocket it accepted is closed for the script.
func (n *Node) dropAnswer(c *capability.Capability, p *Process, r *reply) {
	if p == nil || r == nil || r.env == nil {
		return
	}
	var res isolate.HTTPResponse
	if codec.Decode(r.env, &res) != nil || res.WS == 0 {
		return
	}
	if s := socketOf(p, res.WS); s != nil {
		n.SocketClosed(c, s, CloseAbnormal, "")
	}
}

// webTurn runs the HTTP request d on the script's fetch export, unless
// its client has gone away meanwhile.
func (w *worker) webTurn(d *deliver) {
	if d.web.kind != webFetch {
		w.socketTurn(d)
		return
	}
	if d.web.cancelled.Load() {
		w.current = nil
		w.proc.answer(d.call, &reply{incarnation: d.call.incarnation, id: d.call.id, err: context.Canceled})
		return
	}
	w.iso.Fetch(d.env, d.web.id, w.timed(func(o isolate.Outcome) { w.turnDone(d, o) }))
	w.check(nil)
}

// abortWeb aborts the request.signal of a running request whose client
// has gone away.
func (w *worker) abortWeb(m *webAbort) {
	if w.iso != nil && w.current != nil && w.current.web == m.web {
		w.check(w.iso.AbortFetch(m.web.id))
	}
}

// MaxKeyLen bounds the key of a keyed child.
const MaxKeyLen = 64

// CheckKey reports whether key may name a keyed child: 1 to MaxKeyLen
// bytes of ASCII letters, digits, '-', '_', '.' and '~', not starting
// with '.'.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("a key has 1 to %d characters, got %d", MaxKeyLen, len(key))
	}
	if key[0] == '.' {
		return errors.New("a key must not start with '.'")
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return fmt.Errorf("a key holds letters, digits, '-', '_', '.' and '~' only, got %q at %d", c, i)
		}
	}
	return nil
}

// ErrBadKey is a key that CheckKey refuses.
var ErrBadKey = errors.New("bad key")

// SpawnKeyed returns a capability (every right but spawn) to the child of
// the template supervisor sup designates whose name is key, spawning it
// from the template on first use with init arguments {key}. The same key
// always reaches the same child while it lives, and a restarted child keeps
// its name; concurrent first uses spawn one child. It needs the spawn
// right, and counts against the template's children limit
// (ErrTooManyChildren).
func (n *Node) SpawnKeyed(ctx context.Context, sup *capability.Capability, key string) (*capability.Capability, error) {
	if err := CheckKey(key); err != nil {
		return nil, fmt.Errorf("spawn: %w: %w", ErrBadKey, err)
	}
	t, err := n.target(sup, capability.Spawn, "spawn")
	if err != nil {
		return nil, err
	}
	if t.kind != KindSupervisor || t.spec.Template == nil {
		return nil, fmt.Errorf("spawn: %s has no template", t.path)
	}
	// A child is in the registry from the moment its supervisor builds
	// it, before its actor exists: only one that can take messages is
	// handed out here; the others are left to the supervisor, which
	// answers once the spawn it is making has finished.
	if ch, ok := n.Lookup(joinKey(t.path, key)); ok && ch.parent == t && live(ch) && ch.pid.Load() != nil {
		return capability.New(ch, capability.All&^capability.Spawn), nil
	}
	args, err := codec.Encode(map[string]string{"key": key})
	if err != nil {
		return nil, err
	}
	ch := make(chan *reply, 1)
	t.tell(&spawnReq{args: args, key: key, then: func(r *reply) { ch <- r }})
	r, err := await(ctx, ch, spawnTimeout(t.spec.Template), "spawn")
	if err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.env == nil || len(r.env.Caps()) != 1 {
		return nil, errors.New("spawn: no capability in the answer")
	}
	return r.env.Caps()[0], nil
}

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "/" + key
}

func live(p *Process) bool {
	switch p.Status() {
	case StatusStopped, StatusFailed, StatusStopping:
		return false
	}
	return true
}

// keyed returns the live child named key, or nil. It looks the child up
// by path in the node's registry: a scan of the children would make each
// keyed spawn cost as much as the children already there.
func (g *group) keyed(key string) *Process {
	ch, ok := g.proc.node.Lookup(joinKey(g.proc.path, key))
	if !ok || ch.parent != g.proc || !live(ch) {
		return nil
	}
	return ch
}

// Node is the node this Go actor runs on: what a gateway uses to reach
// processes from goroutines of its own (Node.Send, Node.Call, Node.Fetch),
// with capabilities it holds.
func (c *Context) Node() *Node { return c.g.proc.node }

// taken reports whether a process holds path.
func (n *Node) taken(path string) bool {
	_, ok := n.Lookup(path)
	return ok
}
