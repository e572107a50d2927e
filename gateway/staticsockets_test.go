package gateway_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/gateway"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/supervisor"
)

// TestSockets_OfAStaticWorkerThatStopsAreClosed: a worker of the static
// tree (not a keyed child) that stops for good closes its WebSockets with
// 1001 as it stops, as a keyed one does when it is forgotten; before, an
// idle client stayed connected to a process that would never answer it
// until it sent a frame.
func TestSockets_OfAStaticWorkerThatStopsAreClosed(t *testing.T) {
	gw, err := gateway.New(gateway.Config{Addr: "127.0.0.1:0", Routes: []gateway.Route{{Pattern: "/room/", Grant: "room", MaxSockets: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(100, time.Second), Children: []actor.ChildSpec{
		{Name: "room", Script: compile(t, "room.js", stoppableRoomJS), Restart: actor.Transient},
		{Name: "http", Go: gateway.ReceiverName, Grants: []actor.GrantSpec{{Name: "room", To: "room", Rights: capability.Send}}},
	}}
	node := startGateway(t, gw, root)
	dial := func() *websocket.Conn {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws://"+gw.Addr().String()+"/room/ws", nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		return c
	}
	idle, stopper := dial(), dial()
	p, _ := node.Lookup("room")
	if err := stopper.Write(context.Background(), websocket.MessageText, []byte("stop")); err != nil {
		t.Fatal(err)
	}
	// A safety stop, not a margin: the close comes as the worker stops.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := idle.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("an idle WebSocket of a worker that stopped for good: read %v, want a close with 1001 (the process holds %d sockets)", err, p.Sockets())
	}
	// The close frame goes out just before the socket leaves the
	// registry: wait for that, not a margin.
	testkit.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
		if n := p.Sockets(); n != 0 {
			return fmt.Errorf("the stopped worker still holds %d sockets", n)
		}
		return nil
	})
	if st := p.Status(); st != actor.StatusStopped {
		t.Fatalf("the worker is %v, want stopped", st)
	}
}
