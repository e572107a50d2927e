package egress_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/egress"
	"github.com/cloister-rt/cloister/internal/testkit"
)

// TestDialRefusalHidesAddress: a hostname that resolves to loopback is
// refused with a message naming the hostname and the class of address,
// never the address (a tenant would learn where its names point inside the
// network); the operator still gets the address from the Denied event.
func TestDialRefusalHidesAddress(t *testing.T) {
	s := server(t)
	byName := strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
	strict, err := egress.New("strict", egress.Policy{Allow: []string{byName + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	hidden := func(where, msg string) {
		t.Helper()
		if strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "::1") {
			t.Errorf("%s: %q names the resolved address", where, msg)
		}
		if !strings.Contains(msg, "localhost") || !strings.Contains(msg, "loopback") || !strings.Contains(msg, `"strict"`) {
			t.Errorf("%s: %q, want the host, the class of address and the grant named", where, msg)
		}
	}

	_, err = strict.Do(context.Background(), egress.Request{URL: byName + "/api/x"})
	if !errors.Is(err, egress.ErrDenied) {
		t.Fatalf("a name resolving to loopback: %v, want a refusal", err)
	}
	hidden("Do", err.Error())
	var ar *egress.AddrRefusal
	if !errors.As(err, &ar) || ar.Addr != netip.MustParseAddr("127.0.0.1") && ar.Addr != netip.IPv6Loopback() {
		t.Fatalf("the operator's side of the refusal: %#v", ar)
	}

	// From a script: the message the tenant sees.
	node, to := grantedNode(t, "client", redteamClientJS, strict)
	var mu sync.Mutex
	var seen []error
	node.Subscribe(func(e actor.Event) {
		if d, ok := e.(actor.Denied); ok && d.Op == "fetch" {
			mu.Lock()
			seen = append(seen, d.Err)
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []string
	if err := node.Call(ctx, to, map[string]any{"urls": []string{byName + "/api/x"}}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || !strings.HasPrefix(out[0], "CapabilityError: ") {
		t.Fatalf("from a script: %q, want a CapabilityError", out)
	}
	hidden("from a script", out[0])
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		var got *egress.AddrRefusal
		if len(seen) != 1 || !errors.As(seen[0], &got) || !got.Addr.IsLoopback() {
			return fmt.Errorf("the Denied events: %v, want one carrying the loopback address", seen)
		}
		return nil
	})

	// A grant naming the network reaches the same name: the check is on the
	// resolved address, as before.
	open, err := egress.New("open", egress.Policy{Allow: []string{byName + "/"}, Networks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	res, err := open.Do(context.Background(), egress.Request{URL: byName + "/api/x"})
	if err != nil || res.Status != 200 || string(res.Body) != "ok" {
		t.Fatalf("a grant naming 127.0.0.1/32, by name: %v %v", res, err)
	}
}
