package debughttp_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/debughttp"
)

func TestDebug_Tree(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	var root debughttp.Process
	f.getJSON(t, "/debug/tree", &root)
	if got, want := len(root.Children), 4; got != want {
		t.Fatalf("root has %d children, want %d: %+v", got, want, root)
	}
	if root.Kind != "supervisor" || root.Strategy != "one_for_one" || root.Status != "running" {
		t.Errorf("root = %+v", root)
	}
	c := root.Children[0]
	if c.Name != "counter" || c.Path != "counter" || c.Kind != "worker" || c.ID != f.id(t, "counter") ||
		c.Incarnation != 1 || c.Script != "counter.js" {
		t.Errorf("counter = %+v", c)
	}
	pool := root.Children[3]
	if len(pool.Children) != 1 || pool.Children[0].Path != "pool/member" {
		t.Errorf("pool = %+v", pool)
	}
}

func TestDebug_ProcessDetails(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	f.send(t, "counter", map[string]any{"type": "inc", "by": 5})
	f.send(t, "counter", map[string]any{"type": "boom", "note": "why"})
	f.waitRunning(t, "counter", 2)

	var d debughttp.Detail
	f.getJSON(t, fmt.Sprintf("/debug/processes/%d", f.id(t, "counter")), &d)
	if d.Path != "counter" || d.Restarts != 1 || d.Incarnation != 2 || d.Limits == nil || d.Limits.CPU != "100ms" {
		t.Errorf("details = %+v", d)
	}
	if got, want := d.Counters.Handled, uint64(2); got < want {
		t.Errorf("handled = %d, want >= %d", got, want)
	}
	if len(d.Crashes) != 1 {
		t.Fatalf("crashes = %+v, want one", d.Crashes)
	}
	cr := d.Crashes[0]
	if err := contains(cr.Stack, "boom at 15", "counter.js:"); err != nil {
		t.Errorf("crash stack: %v", err)
	}
	if cr.Reason != "error" || !cr.Restarted || cr.Incarnation != 1 {
		t.Errorf("crash = %+v", cr)
	}
	if msg, ok := cr.Message.(map[string]any); !ok || msg["type"] != "boom" || msg["note"] != "why" {
		t.Errorf("crash message = %#v, want the message that crashed it", cr.Message)
	}

	var plain debughttp.Detail
	f.getJSON(t, fmt.Sprintf("/debug/processes/%d", f.id(t, "plain")), &plain)
	if len(plain.Capabilities) != 2 {
		t.Fatalf("capabilities = %+v, want self and counter", plain.Capabilities)
	}
	g := plain.Capabilities[1]
	if g.Name != "counter" || g.Target != "counter" || strings.Join(g.Rights, ",") != "send,monitor" {
		t.Errorf("grant = %+v", g)
	}
	if self := plain.Capabilities[0]; self.Name != "self" || self.Target != "plain" {
		t.Errorf("self = %+v", self)
	}
}

func TestDebug_State(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	f.send(t, "counter", map[string]any{"type": "inc", "by": 2})

	var st struct {
		Path  string
		State map[string]any
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		f.getJSON(t, fmt.Sprintf("/debug/processes/%d/state", f.id(t, "counter")), &st)
		if st.State["count"] != float64(12) {
			return fmt.Errorf("state = %+v", st)
		}
		return nil
	})
	if st.State["self"] != "[capability]" || st.State["when"] != "1970-01-01T00:00:00Z" || st.State["nothing"] != nil {
		t.Errorf("state = %#v", st.State)
	}

	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"plain", http.StatusNotFound, "no inspect()"},
		{"spinner", http.StatusUnprocessableEntity, "cpu"},
		{"pool", http.StatusConflict, "supervisor"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, body := f.do(t, http.MethodGet, fmt.Sprintf("/debug/processes/%d/state", f.id(t, tc.path)), "")
			if code != tc.code || !strings.Contains(strings.ToLower(body), tc.want) {
				t.Errorf("state of %s = %d %s, want %d mentioning %q", tc.path, code, body, tc.code, tc.want)
			}
		})
	}
	// A runaway inspect() is interrupted without crashing the actor.
	p, _ := f.node.Lookup("spinner")
	if p.Status() != actor.StatusRunning || p.Incarnation() != 1 || len(p.Crashes()) != 0 {
		t.Errorf("spinner after its inspect: %s, incarnation %d, %d crashes", p.Status(), p.Incarnation(), len(p.Crashes()))
	}
}

func TestDebug_Authority(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	kill := fmt.Sprintf("/debug/processes/%d/kill", f.id(t, "plain"))
	for name, hdr := range map[string]string{
		"missing":     "",
		"wrong":       "Bearer nope",
		"prefix":      "Bearer " + token[:4],
		"longer":      "Bearer " + token + "x",
		"basic":       "Basic " + token,
		"bare token":  token,
		"empty token": "Bearer ",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+kill, nil)
			if hdr != "" {
				req.Header.Set("Authorization", hdr)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b := make([]byte, 100)
			n, _ := resp.Body.Read(b)
			if resp.StatusCode != http.StatusUnauthorized || strings.TrimSpace(string(b[:n])) != "unauthorized" {
				t.Errorf("POST with %q = %d %q, want a bare 401", hdr, resp.StatusCode, b[:n])
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
	// An unknown process is not revealed to a caller without the token.
	if code, _ := f.do(t, http.MethodPost, "/debug/processes/9999/kill", ""); code != http.StatusUnauthorized {
		t.Errorf("unauthenticated POST to an unknown process = %d, want 401", code)
	}
	if p, _ := f.node.Lookup("plain"); p.Incarnation() != 1 || p.Restarts() != 0 {
		t.Fatalf("a refused request changed the process: incarnation %d", p.Incarnation())
	}
	// Reads are open on loopback.
	if code, _ := f.do(t, http.MethodGet, "/debug/tree", ""); code != http.StatusOK {
		t.Errorf("GET /debug/tree without a token on loopback = %d", code)
	}
	// No token configured: nothing mutates.
	g := start(t, debughttp.Config{})
	if code, _ := g.do(t, http.MethodPost, fmt.Sprintf("/debug/processes/%d/kill", g.id(t, "plain")), ""); code != http.StatusUnauthorized {
		t.Errorf("POST to an endpoint without a token = %d, want 401", code)
	}
}

func TestDebug_PrivateNeedsTokenEverywhere(t *testing.T) {
	f := start(t, debughttp.Config{Token: token, Private: true})
	id := f.id(t, "counter")
	for _, path := range []string{"/debug/tree", fmt.Sprintf("/debug/processes/%d", id),
		fmt.Sprintf("/debug/processes/%d/state", id), "/metrics", "/debug/processes/abc"} {
		if code, body := f.do(t, http.MethodGet, path, ""); code != http.StatusUnauthorized || strings.Contains(body, "counter") {
			t.Errorf("GET %s without a token = %d %q, want 401", path, code, body)
		}
		if code, _ := f.do(t, http.MethodGet, path, "wrong"); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token = %d, want 401", path, code)
		}
	}
	if code, _ := f.do(t, http.MethodGet, "/debug/tree", token); code != http.StatusOK {
		t.Errorf("GET /debug/tree with the token = %d", code)
	}
	// The page's shell holds no data and loads without a token.
	if code, body := f.do(t, http.MethodGet, "/", ""); code != http.StatusOK || !strings.Contains(body, "<title>Cloister") {
		t.Errorf("GET / = %d", code)
	}
}

func TestDebug_BadInput(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	id := f.id(t, "counter")
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/debug/processes/abc", 400},
		{"GET", "/debug/processes/-1", 400},
		{"GET", "/debug/processes/+2", 400},
		{"GET", "/debug/processes/02", 400},
		{"GET", "/debug/processes/0x2", 400},
		{"GET", "/debug/processes/2.0", 400},
		{"GET", "/debug/processes/%20" + fmt.Sprint(id), 400},
		{"GET", "/debug/processes/99999999999999999999", 400},
		{"GET", "/debug/processes/" + strings.Repeat("9", 5000), 400},
		{"GET", "/debug/processes/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 400},
		{"GET", "/debug/processes/..%2f..%2fmetrics", 400},
		{"GET", "/debug/processes/%00", 400},
		{"GET", "/debug/processes/18446744073709551615", 404},
		{"GET", "/debug/processes/0", 404},
		{"GET", "/debug/processes/12345", 404},
		{"GET", "/debug/processes/12345/state", 404},
		{"POST", "/debug/processes/12345/kill", 404},
		{"POST", "/debug/processes/abc/kill", 400},
		{"POST", fmt.Sprintf("/debug/processes/%d/explode", id), 404},
		{"POST", fmt.Sprintf("/debug/processes/%d/state", id), 404},
		{"GET", fmt.Sprintf("/debug/processes/%d/kill", id), 405},
		{"DELETE", fmt.Sprintf("/debug/processes/%d", id), 405},
		{"POST", "/debug/tree", 405},
		{"PUT", "/metrics", 405},
		{"GET", "/debug/nothing", 404},
		{"GET", "/ui/../../../etc/passwd", 404},
		{"GET", "/ui/app.js", 200},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			code, body := f.do(t, tc.method, tc.path, token)
			if code != tc.code {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, code, body, tc.code)
			}
		})
	}
	if p, _ := f.node.Lookup("counter"); p.Incarnation() != 1 || p.Status() != actor.StatusRunning {
		t.Errorf("bad requests changed the counter: %s, incarnation %d", p.Status(), p.Incarnation())
	}
}

func TestDebug_ServerLimits(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	srv := debughttp.NewServer(debughttp.Config{Node: f.node, Token: token})
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Fatalf("server without limits: %+v", srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	t.Run("huge header", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/debug/tree", nil)
		req.Header.Set("X-Junk", strings.Repeat("a", 1<<20))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // the server may hang up before answering; both are fine
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("1 MiB header = %d, want 431", resp.StatusCode)
		}
	})
	t.Run("huge body", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/debug/processes/abc/kill",
			strings.NewReader(strings.Repeat("x", 8<<20)))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			t.Errorf("8 MiB body = %d", resp.StatusCode)
		}
	})
	t.Run("slowloris", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Half a request line, then nothing: the server must hang up.
		if _, err := c.Write([]byte("GET /debug/tree HTTP/1.1\r\nHost: x\r\n")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(srv.ReadHeaderTimeout + 5*time.Second))
		start := time.Now()
		_, err = bufio.NewReader(c).ReadString('\n')
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server kept a slow client for %v", time.Since(start))
		}
	})
}

func TestDebug_OperatorActions(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	id := f.id(t, "counter")
	p, _ := f.node.Lookup("counter")
	post := func(action string, want int) string {
		t.Helper()
		code, body := f.do(t, http.MethodPost, fmt.Sprintf("/debug/processes/%d/%s", id, action), token)
		if code != want {
			t.Fatalf("POST %s = %d %s, want %d", action, code, body, want)
		}
		return body
	}

	post("kill", http.StatusAccepted)
	f.waitRunning(t, "counter", 2)
	cr := p.Crashes()
	if len(cr) != 1 || cr[0].Reason != "killed" || !cr[0].Restarted || p.Restarts() != 1 {
		t.Fatalf("after kill: restarts %d, crashes %+v", p.Restarts(), cr)
	}

	post("restart", http.StatusAccepted)
	f.waitRunning(t, "counter", 3)
	if p.Restarts() != 2 || len(p.Crashes()) != 1 {
		t.Fatalf("after restart: restarts %d, %d crashes", p.Restarts(), len(p.Crashes()))
	}
	// Messages sent after a restart reach the fresh incarnation.
	f.send(t, "counter", map[string]any{"type": "inc"})

	post("stop", http.StatusAccepted)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if p.Status() != actor.StatusStopped {
			return fmt.Errorf("status %s", p.Status())
		}
		return contains(f.log.String(), "counter terminating: shutdown")
	})
	for _, a := range []string{"stop", "kill", "restart"} {
		if body := post(a, http.StatusConflict); !strings.Contains(body, "stopped") {
			t.Errorf("%s after stop: %s", a, body)
		}
	}
	if code, _ := f.do(t, http.MethodGet, fmt.Sprintf("/debug/processes/%d/state", id), ""); code != http.StatusConflict {
		t.Errorf("state of a stopped process = %d, want 409", code)
	}
	// The root is the node: stop it with a signal, not from here.
	if code, _ := f.do(t, http.MethodPost, fmt.Sprintf("/debug/processes/%d/kill", f.id(t, "")), token); code != http.StatusConflict {
		t.Errorf("kill the root = %d, want 409", code)
	}
	// The others were not touched.
	for _, path := range []string{"plain", "spinner", "pool", "pool/member"} {
		if q, _ := f.node.Lookup(path); q.Status() != actor.StatusRunning || q.Incarnation() != 1 {
			t.Errorf("%s: %s, incarnation %d", path, q.Status(), q.Incarnation())
		}
	}
}

func TestDebug_SupervisorActions(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	member, _ := f.node.Lookup("pool/member")
	code, body := f.do(t, http.MethodPost, fmt.Sprintf("/debug/processes/%d/kill", f.id(t, "pool")), token)
	if code != http.StatusAccepted {
		t.Fatalf("kill pool = %d %s", code, body)
	}
	f.waitRunning(t, "pool", 2)
	f.waitRunning(t, "pool/member", 2) // a supervisor's restart starts its children afresh
	code, body = f.do(t, http.MethodPost, fmt.Sprintf("/debug/processes/%d/stop", f.id(t, "pool")), token)
	if code != http.StatusAccepted {
		t.Fatalf("stop pool = %d %s", code, body)
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		pool, _ := f.node.Lookup("pool")
		if pool.Status() != actor.StatusStopped || member.Status() != actor.StatusStopped {
			return fmt.Errorf("pool %s, member %s", pool.Status(), member.Status())
		}
		return nil
	})
}

// TestDebug_Storm fires stop, kill and restart at one process from many
// goroutines while others read: every answer is 202 or 409, nothing
// panics, and the tree ends consistent.
func TestDebug_Storm(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	for _, target := range []string{"counter", "pool"} {
		t.Run(target, func(t *testing.T) {
			id := f.id(t, target)
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[int]int{}
			for g := 0; g < 16; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(g), 1))
					for i := 0; i < 25; i++ {
						action := []string{"kill", "restart", "kill", "restart", "stop"}[r.IntN(5)]
						if i < 20 && action == "stop" {
							action = "kill"
						}
						req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/debug/processes/%d/%s", f.srv.URL, id, action), nil)
						req.Header.Set("Authorization", "Bearer "+token)
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							t.Error(err)
							return
						}
						resp.Body.Close()
						_, _ = http.Get(f.srv.URL + "/debug/tree")
						mu.Lock()
						codes[resp.StatusCode]++
						mu.Unlock()
					}
				}(g)
			}
			wg.Wait()
			for code := range codes {
				if code != http.StatusAccepted && code != http.StatusConflict {
					t.Errorf("answers: %v, want only 202 and 409", codes)
				}
			}
			if codes[http.StatusAccepted] == 0 {
				t.Errorf("answers: %v, want some accepted", codes)
			}
			p, _ := f.node.Lookup(target)
			// Settles: either stopped for good or running a fresh incarnation.
			checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
				if s := p.Status(); s != actor.StatusStopped && s != actor.StatusRunning {
					return fmt.Errorf("%s is %s", target, s)
				}
				return nil
			})
			if p.Status() == actor.StatusRunning {
				// A stop now holds.
				code, body := f.do(t, http.MethodPost, fmt.Sprintf("/debug/processes/%d/stop", id), token)
				if code != http.StatusAccepted {
					t.Fatalf("stop after the storm = %d %s", code, body)
				}
			}
			checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
				if s := p.Status(); s != actor.StatusStopped {
					return fmt.Errorf("%s is %s after stop", target, s)
				}
				return nil
			})
		})
	}
	// The rest of the tree never noticed.
	select {
	case <-f.node.Failed():
		t.Fatal("the root failed")
	default:
	}
	for _, path := range []string{"plain", "spinner"} {
		if q, _ := f.node.Lookup(path); q.Status() != actor.StatusRunning || q.Incarnation() != 1 {
			t.Errorf("%s: %s, incarnation %d", path, q.Status(), q.Incarnation())
		}
	}
	if code, _ := f.do(t, http.MethodGet, "/debug/tree", ""); code != http.StatusOK {
		t.Errorf("tree after the storm = %d", code)
	}
}
