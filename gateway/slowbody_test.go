package gateway_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/gateway"
	"github.com/cloister-rt/cloister/internal/testkit"
)

// Clients slow to send a request body: they hold only the bytes they sent,
// charged to the route's body budget, never a max_inflight slot or a keyed
// actor, and a body that stops is cut.

// safety is a stop for a test that would otherwise hang, not a margin.
const safety = 20 * time.Second

// sendPart opens a connection and sends a POST to path declaring length
// bytes of body, then the first part of it.
func sendPart(t *testing.T, addr, path string, length int, part string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", path, length, part); err != nil {
		t.Fatal(err)
	}
	return c
}

// answer reads the response on c and its body.
func answer(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(safety))
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// post sends a whole body of n bytes on a connection of its own.
func post(t *testing.T, addr, path string, n int) (*http.Response, string) {
	t.Helper()
	return answer(t, sendPart(t, addr, path, n, strings.Repeat("b", n)))
}

// waitBodies waits until the gateway's body counters satisfy ok.
func waitBodies(t *testing.T, gw *gateway.Gateway, want string, ok func(gateway.BodyStats) bool) {
	t.Helper()
	testkit.CheckFor(t, safety, time.Millisecond, func() error {
		if b := gw.Bodies(); !ok(b) {
			return fmt.Errorf("bodies %+v, want %s", b, want)
		}
		return nil
	})
}

// TestSlowBody_KeyedActorSpawnedAfterBody: idle-body clients on a keyed
// route with max_inflight 1 spawn no actor and hold no slot; the actor is
// spawned once a body has arrived, and honest clients are served.
func TestSlowBody_KeyedActorSpawnedAfterBody(t *testing.T) {
	f := startRoomsWith(t, gateway.Route{Pattern: "/rooms/{room}/", Grant: "rooms", Key: "room", MaxInflight: 1},
		actor.ChildSpec{Script: compile(t, "room.js", roomJS)})
	var idle []net.Conn
	for _, room := range []string{"a", "b", "c"} {
		idle = append(idle, sendPart(t, f.base, "/rooms/"+room+"/plain", 100, ""))
	}
	waitBodies(t, f.gw, "3 reading", func(b gateway.BodyStats) bool { return b.Reading == 3 })
	for _, room := range []string{"a", "b", "c"} {
		if _, ok := f.node.Lookup("rooms/" + room); ok {
			t.Fatalf("a request with no body yet spawned rooms/%s", room)
		}
	}
	for i := 0; i < 3; i++ {
		if res, body := post(t, f.base, "/rooms/d/plain", 10); res.StatusCode != 200 || body != "TypeError" {
			t.Fatalf("an honest client behind three idle bodies: %d %q", res.StatusCode, body)
		}
	}
	if b := f.gw.Bodies(); b.Reading != 3 || b.Bytes != 0 {
		t.Fatalf("idle bodies hold %+v, want 3 reading and no bytes", b)
	}
	// The first idle client sends its body: now its actor is spawned.
	if _, err := io.WriteString(idle[0], strings.Repeat("x", 100)); err != nil {
		t.Fatal(err)
	}
	if res, body := answer(t, idle[0]); res.StatusCode != 200 || body != "TypeError" {
		t.Fatalf("the body that came late: %d %q", res.StatusCode, body)
	}
	if _, ok := f.node.Lookup("rooms/a"); !ok {
		t.Fatal("rooms/a was not spawned once its body arrived")
	}
	if _, ok := f.node.Lookup("rooms/b"); ok {
		t.Fatal("rooms/b was spawned with no body")
	}
}

// TestSlowBody_TrickleHoldsWhatItSent: a client that sent part of a body
// declared at max_body holds less than twice what it sent, not max_body,
// so an honest body fits beside it.
func TestSlowBody_TrickleHoldsWhatItSent(t *testing.T) {
	const maxBody = 64 << 10
	f := startRed(t, gateway.Config{MaxBody: maxBody, Routes: []gateway.Route{{Pattern: "/one/", Grant: "victim", MaxInflight: 1}}}, actor.ChildSpec{})
	addr := strings.TrimPrefix(f.base, "http://")
	c := sendPart(t, addr, "/one/x", maxBody, "")
	sent := 0
	for i := 0; i < 5; i++ {
		if _, err := io.WriteString(c, strings.Repeat("t", 1000)); err != nil {
			t.Fatal(err)
		}
		sent += 1000
		waitBodies(t, f.gw, fmt.Sprintf("at least the %d bytes sent", sent), func(b gateway.BodyStats) bool { return b.Bytes >= int64(sent) })
		if b := f.gw.Bodies(); b.Reading != 1 || b.Bytes >= 2*int64(sent) {
			t.Fatalf("a client that sent %d bytes holds %+v, want under %d bytes", sent, b, 2*sent)
		}
	}
	if res, body := post(t, addr, "/one/x", maxBody/2); res.StatusCode != 200 || !strings.HasPrefix(body, "victim ") {
		t.Fatalf("an honest body beside a trickling one: %d %q", res.StatusCode, body)
	}
}

// TestSlowBody_BudgetRefusesAndFrees: a body that does not fit what the
// route's bodies may hold at once (max_inflight × max_body) is refused
// with 503, a body that fits is served, and the budget is whole again
// once the holder goes.
func TestSlowBody_BudgetRefusesAndFrees(t *testing.T) {
	const maxBody = 64 << 10
	f := startRed(t, gateway.Config{MaxBody: maxBody, Routes: []gateway.Route{{Pattern: "/one/", Grant: "victim", MaxInflight: 1}}}, actor.ChildSpec{})
	addr := strings.TrimPrefix(f.base, "http://")
	// Half the budget: the buffer doubles from 512 bytes to exactly 32 KiB.
	holder := sendPart(t, addr, "/one/x", maxBody, strings.Repeat("h", maxBody/2))
	waitBodies(t, f.gw, "32 KiB held", func(b gateway.BodyStats) bool { return b.Bytes == maxBody/2 })

	res, _ := post(t, addr, "/one/x", maxBody/2+1000)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !res.Close {
		t.Fatalf("a body over what is left of the budget: %d %v, want 503 with Retry-After, closing", res.StatusCode, res.Header)
	}
	if b := f.gw.Bodies(); b.Bytes != maxBody/2 {
		t.Fatalf("after the refusal %+v is held, want only the holder's %d bytes", b, maxBody/2)
	}
	if res, body := post(t, addr, "/one/x", maxBody/4); res.StatusCode != 200 || !strings.HasPrefix(body, "victim ") {
		t.Fatalf("a body that fits beside the holder: %d %q", res.StatusCode, body)
	}
	f.victimServes(t)

	holder.Close()
	waitBodies(t, f.gw, "nothing held", func(b gateway.BodyStats) bool { return b == gateway.BodyStats{} })
	if res, body := post(t, addr, "/one/x", maxBody/2+1000); res.StatusCode != 200 || !strings.HasPrefix(body, "victim ") {
		t.Fatalf("the refused body once the holder left: %d %q", res.StatusCode, body)
	}
	waitBodies(t, f.gw, "nothing held", func(b gateway.BodyStats) bool { return b == gateway.BodyStats{} })
}

// TestSlowBody_StalledBodyGets408: a body that stops arriving is answered
// 408 and its connection closed: after body_timeout, well before the
// request's read_timeout, or at read_timeout when that comes first. It
// holds nothing after, and no actor ran for it.
func TestSlowBody_StalledBodyGets408(t *testing.T) {
	for _, cfg := range []gateway.Config{
		{BodyTimeout: 50 * time.Millisecond, ReadTimeout: time.Hour},
		{BodyTimeout: time.Hour, ReadTimeout: 100 * time.Millisecond},
	} {
		f := startRed(t, cfg, actor.ChildSpec{})
		addr := strings.TrimPrefix(f.base, "http://")
		for _, part := range []string{"", "some of it"} {
			c := sendPart(t, addr, "/h/len", 1000, part)
			res, _ := answer(t, c)
			if res.StatusCode != http.StatusRequestTimeout || !res.Close {
				t.Fatalf("body_timeout %v, read_timeout %v: a body that stalled after %q: %d, want 408 and a close",
					cfg.BodyTimeout, cfg.ReadTimeout, part, res.StatusCode)
			}
			_ = c.SetReadDeadline(time.Now().Add(safety))
			var ne net.Error
			if _, err := io.ReadAll(c); errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection of a stalled body was kept open")
			}
		}
		waitBodies(t, f.gw, "nothing held", func(b gateway.BodyStats) bool { return b == gateway.BodyStats{} })
		if n := f.served(t); n != 1 {
			t.Fatalf("the actor ran %d turns, want only the ping", n)
		}
	}
}
