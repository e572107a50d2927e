package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/manifest"

	"github.com/coder/websocket"
)

func TestWSChat(t *testing.T) {
	m, err := manifest.Load("ws-chat/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m.HTTP.Listen = "127.0.0.1:0"
	app, err := m.App(isolate.NewCompiler())
	if err != nil {
		t.Fatal(err)
	}
	n, err := actor.NewNode(app.Options())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(app.Root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := n.Wait(); err != nil {
			t.Errorf("node ended with %v", err)
		}
	})
	addr := app.HTTP.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	join := func(name string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/rooms/lobby?name="+name, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		return c
	}
	type line struct{ From, Text string }
	next := func(c *websocket.Conn) line {
		t.Helper()
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		return l
	}
	ada := join("ada")
	if l := next(ada); l.Text != "ada joined" {
		t.Fatalf("ada: %+v", l)
	}
	bob := join("bob")
	if l := next(bob); l.Text != "bob joined" {
		t.Fatalf("bob: %+v", l)
	}
	if l := next(ada); l.Text != "bob joined" {
		t.Fatalf("ada sees: %+v", l)
	}
	if err := ada.Write(ctx, websocket.MessageText, []byte("hello bob")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{ada, bob} {
		if l := next(c); l.From != "ada" || l.Text != "hello bob" {
			t.Fatalf("broadcast: %+v", l)
		}
	}
	res, err := http.Get("http://" + addr + "/rooms/lobby")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != `{"room":"lobby","members":["ada","bob"]}` {
		t.Fatalf("members: %s", b)
	}
	if err := bob.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	if l := next(ada); l.Text != "bob left" {
		t.Fatalf("ada sees: %+v", l)
	}
	if err := ada.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if _, ok := n.Lookup("rooms/lobby"); ok {
			return fmt.Errorf("the empty room is still there")
		}
		return nil
	})
}
