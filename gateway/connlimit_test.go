package gateway_test

import (
	"bufio"
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

// dialFrom opens a connection to addr from the loopback address src
// (Linux routes all of 127/8 to lo), so one test can be several clients.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// getOn sends a GET for path on c and returns the status, or an error if
// the connection was closed without an answer.
func getOn(c net.Conn, path string) (int, error) {
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return 0, err
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a safety stop, not a margin
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

func waitConns(t *testing.T, gw *gateway.Gateway, want string, ok func(gateway.ConnStats) bool) {
	t.Helper()
	testkit.CheckFor(t, 20*time.Second, time.Millisecond, func() error {
		if s := gw.Conns(); !ok(s) {
			return fmt.Errorf("connections %+v, want %s", s, want)
		}
		return nil
	})
}

// TestConns_OneAddressCannotHoldTheGateway: idle connections (a
// slowloris that has not even sent its headers) from one address stop at
// max_connections_per_ip, and the gateway's at max_connections; a
// connection past a bound is closed unread, others are served, and a
// place comes back when its connection closes.
func TestConns_OneAddressCannotHoldTheGateway(t *testing.T) {
	f := startRed(t, gateway.Config{MaxConns: 4, MaxConnsPerIP: 2}, actor.ChildSpec{})
	addr := strings.TrimPrefix(f.base, "http://")
	idle := []net.Conn{dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.2", addr)}
	waitConns(t, f.gw, "2 open", func(s gateway.ConnStats) bool { return s.Open == 2 })

	// A third from the same address is closed before it is read.
	if st, err := getOn(dialFrom(t, "127.0.0.2", addr), "/v/x"); err == nil {
		t.Fatalf("a third connection from one address was served (%d), want it closed", st)
	}
	waitConns(t, f.gw, "1 refused", func(s gateway.ConnStats) bool { return s.Refused == 1 && s.Open == 2 })

	// Another address is served, on a connection it keeps open.
	honest := dialFrom(t, "127.0.0.3", addr)
	if st, err := getOn(honest, "/v/x"); err != nil || st != 200 {
		t.Fatalf("another address: %d, %v", st, err)
	}
	// The gateway's bound: 2 + 1 open, one more fits, the fifth does not.
	if st, err := getOn(dialFrom(t, "127.0.0.4", addr), "/v/x"); err != nil || st != 200 {
		t.Fatalf("the fourth connection: %d, %v", st, err)
	}
	if st, err := getOn(dialFrom(t, "127.0.0.5", addr), "/v/x"); err == nil {
		t.Fatalf("a fifth connection past max_connections was served (%d)", st)
	}
	waitConns(t, f.gw, "2 refused, 4 open", func(s gateway.ConnStats) bool { return s.Refused == 2 && s.Open == 4 })

	// Closing an idle connection gives its place back to its address.
	_ = idle[0].Close()
	waitConns(t, f.gw, "3 open", func(s gateway.ConnStats) bool { return s.Open == 3 })
	if st, err := getOn(dialFrom(t, "127.0.0.2", addr), "/v/x"); err != nil || st != 200 {
		t.Fatalf("after one idle connection closed, its address: %d, %v", st, err)
	}
}

// TestConns_BoundsAreChecked: a per-address bound over the total is
// refused by New.
func TestConns_BoundsAreChecked(t *testing.T) {
	_, err := gateway.New(gateway.Config{Addr: "127.0.0.1:0", MaxConns: 10, MaxConnsPerIP: 11})
	if err == nil || !strings.Contains(err.Error(), "max_connections_per_ip") {
		t.Fatalf("a per-address bound over the total: %v", err)
	}
}
