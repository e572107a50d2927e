package bench

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/gateway"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/coder/websocket"
)

const wsEchoJS = `
export function fetch(request, ctx) {
	return new Response(null, {status: 101, webSocket: ctx.acceptWebSocket(request)});
}
export function webSocketMessage(ws, data) { ws.send(data); }
`

// serveWSJS starts a node whose one actor echoes WebSocket messages.
func serveWSJS() (string, func(), error) {
	gw, err := gateway.New(gateway.Config{Addr: "127.0.0.1:0", Routes: []gateway.Route{{Pattern: "/", Grant: "echo"}}})
	if err != nil {
		return "", nil, err
	}
	n, err := actor.NewNode(actor.Options{Limits: turnLimit, Logger: quiet,
		Receivers: map[string]func() actor.Receiver{gateway.ReceiverName: gw.Receiver}})
	if err != nil {
		return "", nil, err
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Second), Children: []actor.ChildSpec{
		{Name: "echo", Script: compile("echo.js", wsEchoJS)},
		{Name: "http", Go: gateway.ReceiverName, Grants: []actor.GrantSpec{{Name: "echo", To: "echo", Rights: capability.Send}}},
	}}
	if err := n.Start(root); err != nil {
		return "", nil, err
	}
	return "ws://" + gw.Addr().String() + "/", func() { _ = n.Shutdown(context.Background()); _ = n.Wait() }, nil
}

// serveWSGo starts a plain Go WebSocket echo server.
func serveWSGo() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: gateway.DefaultReadHeaderTimeout, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if err := c.Write(context.Background(), typ, data); err != nil {
				return
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	return "ws://" + ln.Addr().String() + "/", func() { _ = srv.Close() }, nil
}

// wsLoad has conns clients each send msgs messages, one at a time, waiting
// for each echo, and returns the echoes per second.
func wsLoad(url string, conns, msgs int) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cs := make([]*websocket.Conn, conns)
	for i := range cs {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			return 0, err
		}
		defer c.CloseNow()
		cs[i] = c
	}
	payload := []byte(`{"type":"chat","text":"hello, world"}`)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start := time.Now()
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range msgs {
				if err := c.Write(ctx, websocket.MessageText, payload); err != nil {
					errs <- err
					return
				}
				if _, _, err := c.Read(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	if elapsed <= 0 {
		return 0, errors.New("no time elapsed")
	}
	return float64(conns*msgs) / elapsed.Seconds(), nil
}
