package actor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/egress"
	"github.com/cloister-rt/cloister/isolate"
)

// StartFetch implements isolate.FetchHost: an outgoing request through the
// egress grant c designates. It runs on a goroutine of its own, never the
// actor's; the outcome comes back as a reply to call id, as a call's
// answer does, for the incarnation that asked. A refusal is counted as a
// denial (the Denied event).
func (h *host) StartFetch(c *capability.Capability, req isolate.HTTPRequest) (uint64, error) {
	w := h.w()
	p := w.proc
	if err := c.Check(capability.Send, "fetch"); err != nil {
		p.node.emit(Denied{Op: "fetch", Err: err, Path: p.path})
		return 0, err
	}
	g, ok := c.Target().(*egress.Grant)
	if !ok {
		return 0, errors.New("fetch: not an HTTP grant (only a grant of kind http can fetch)")
	}
	if err := g.Allowed(req.Method, req.URL); err != nil {
		p.node.emit(Denied{Op: "fetch", Err: err, Path: p.path})
		return 0, fmt.Errorf("%w: %w", capability.ErrDenied, err)
	}
	// The script's header values, one character per byte, go out as those
	// bytes; the script's Headers refuse wider ones, but the list crossed
	// its heap.
	headers := make([][2]string, len(req.Headers))
	for k, h := range req.Headers {
		b, ok := isolate.HeaderBytes(h[1])
		if !ok {
			return 0, fmt.Errorf("fetch: the value of header %q has a character above U+00FF (header values are bytes)", truncate(h[0], 64))
		}
		headers[k] = [2]string{h[0], b}
	}
	w.nextID++
	id, inc := w.nextID, w.inc
	wait := g.Policy().Timeout + time.Second
	w.awaitCall(id, time.AfterFunc(wait, func() {
		p.tell(&reply{incarnation: inc, id: id, err: fmt.Errorf("%w: fetch after %v", isolate.ErrCallTimeout, wait)})
	}))
	go func() {
		res, err := g.Do(context.Background(), egress.Request{Method: req.Method, URL: req.URL, Headers: headers, Body: req.Body})
		out := isolate.FetchResult{}
		switch {
		case errors.Is(err, egress.ErrDenied):
			p.node.emit(Denied{Op: "fetch", Err: err, Path: p.path})
			out.Denied = err.Error()
		case err != nil:
			out.Failed = err.Error()
		default:
			for k := range res.Headers {
				res.Headers[k][1] = isolate.HeaderText(res.Headers[k][1])
			}
			out.Status, out.URL, out.Headers, out.Body = res.Status, res.URL, res.Headers, res.Body
		}
		env, err := codec.Encode(out)
		if err != nil {
			p.tell(&reply{incarnation: inc, id: id, err: err})
			return
		}
		p.tell(&reply{incarnation: inc, id: id, env: env})
	}()
	return id, nil
}
