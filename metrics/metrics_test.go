package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/metrics"
	"github.com/cloister-rt/cloister/supervisor"
)

func checkFor(t *testing.T, timeout, interval time.Duration, f func() error) {
	t.Helper()
	testkit.CheckFor(t, timeout, interval, f)
}

type fixture struct {
	node *actor.Node
	srv  *httptest.Server
}

func start(t *testing.T) *fixture {
	t.Helper()
	src, err := os.ReadFile("testdata/worker.js")
	if err != nil {
		t.Fatal(err)
	}
	s, err := isolate.Compile("worker.js", src)
	if err != nil {
		t.Fatal(err)
	}
	node, err := actor.NewNode(actor.Options{Limits: isolate.Limits{CPU: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(node)
	peer := []actor.GrantSpec{{Name: "peer", To: "b", Rights: capability.Send}}
	if err := node.Start(actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(100, time.Second),
		Children: []actor.ChildSpec{
			{Name: "a", Script: s, Grants: peer},
			{Name: "b", Script: s, Grants: []actor.GrantSpec{{Name: "peer", To: "a", Rights: capability.Send}}},
			{Name: "team", Strategy: supervisor.NewOneForOne(100, time.Second), Children: []actor.ChildSpec{
				{Name: "c", Script: s, Grants: peer},
			}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{node: node, srv: httptest.NewServer(m.Handler())}
	t.Cleanup(func() {
		f.srv.Close()
		_ = node.Shutdown(context.Background())
	})
	return f
}

func (f *fixture) send(t *testing.T, path string, msg map[string]any) {
	t.Helper()
	c, err := f.node.Capability(path, capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.node.Send(context.Background(), c, msg); err != nil {
		t.Fatal(err)
	}
}

// deny sends to path with a capability that lacks send: a denial.
func (f *fixture) deny(t *testing.T, path string) {
	t.Helper()
	c, err := f.node.Capability(path, capability.Monitor)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.node.Send(context.Background(), c, map[string]any{"type": "fwd"}); err == nil {
		t.Fatal("a send without the send right went through")
	}
}

func (f *fixture) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestMetrics_CountsEvents(t *testing.T) {
	f := start(t)
	f.send(t, "a", map[string]any{"type": "fwd"})
	f.send(t, "a", map[string]any{"type": "fwd"})
	f.deny(t, "a")
	f.send(t, "b", map[string]any{"type": "boom"})
	f.send(t, "team/c", map[string]any{"type": "spin"})
	for i := 0; i < 3; i++ {
		f.send(t, "b", map[string]any{"type": "stop", "n": i})
	}
	want := []string{
		`cloister_messages_out_total{name="a"} 2`,
		`cloister_crashes_total{name="b",reason="error"} 1`,
		`cloister_crashes_total{name="b",reason="exit"} 3`, // exit:<reason> never becomes a label value
		`cloister_crashes_total{name="team/c",reason="cpu_limit"} 1`,
		`cloister_limit_kills_total{limit="cpu",name="team/c"} 1`,
		`cloister_restarts_total{name="b"} 4`,
		`cloister_spawns_total{name="b"} 5`,
		`cloister_spawns_total{name="team/c"} 2`,
		`cloister_processes{kind="supervisor",status="running"} 2`,
		`cloister_processes{kind="worker",status="running"} 3`,
		`cloister_mailbox_depth{name="a"} 0`,
		`cloister_message_handling_seconds_count{name="a"} 2`,
		`cloister_incarnation{name="team/c"} 2`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	}
	var body string
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		body = f.scrape(t)
		for _, w := range want {
			if !strings.Contains(body, w) {
				return fmt.Errorf("no %q in the scrape:\n%s", w, grep(body, "cloister_"))
			}
		}
		return nil
	})
	if !strings.Contains(body, `cloister_capability_denials_total{cause="missing",right="send"} 1`) {
		t.Errorf("the denial is not counted:\n%s", grep(body, "denials"))
	}
	if !strings.Contains(body, `cloister_messages_in_total{name="b"}`) {
		t.Errorf("b's received messages are not counted:\n%s", grep(body, "messages_in"))
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "cloister_") && strings.Contains(line, "custom-") {
			t.Errorf("a script-chosen reason became a label: %s", line)
		}
	}
}

func grep(body, sub string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetrics_OwnRegistry(t *testing.T) {
	f := start(t)
	body := f.scrape(t)
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "cloister_") && !strings.HasPrefix(line, "go_") && !strings.HasPrefix(line, "process_") {
			t.Errorf("a metric from outside the node's registry: %s", line)
		}
	}
	// Two nodes in one program keep their own counts.
	g := start(t)
	f.send(t, "b", map[string]any{"type": "boom"})
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if !strings.Contains(f.scrape(t), `cloister_crashes_total{name="b",reason="error"} 1`) {
			return fmt.Errorf("crash not counted")
		}
		return nil
	})
	if strings.Contains(g.scrape(t), "cloister_crashes_total{") {
		t.Error("the other node counted the crash")
	}
}

func TestReason(t *testing.T) {
	for in, want := range map[string]string{
		"error": "error", "cpu_limit": "cpu_limit", "memory_limit": "memory_limit", "killed": "killed",
		"linked": "linked", "mailbox_overflow": "mailbox_overflow", "exit:anything at all": "exit",
		"exit:": "exit", "made-up": "other", "": "other",
	} {
		if got := metrics.Reason(in); got != want {
			t.Errorf("Reason(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMetrics_Promtool checks a scrape of a running node with promtool,
// skipping when promtool is absent unless $CLOISTER_REQUIRE_PROMTOOL=1 (as in CI).
func TestMetrics_Promtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CLOISTER_REQUIRE_PROMTOOL") == "1" {
			t.Fatal("no promtool on PATH and CLOISTER_REQUIRE_PROMTOOL=1")
		}
		t.Skip("no promtool on PATH")
	}
	f := start(t)
	f.send(t, "a", map[string]any{"type": "fwd"})
	f.send(t, "b", map[string]any{"type": "boom"})
	f.deny(t, "a")
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if !strings.Contains(f.scrape(t), "cloister_crashes_total{") {
			return fmt.Errorf("no crash yet")
		}
		return nil
	})
	body := f.scrape(t)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
	}
	// promtool must be able to fail: a bad exposition is refused.
	bad := exec.Command(promtool, "check", "metrics")
	bad.Stdin = strings.NewReader("# HELP x_total a\n# TYPE x_total counter\nx_total{a=\"1\"} 1\nx_total{a=\"1\"} nope\n")
	if err := bad.Run(); err == nil {
		t.Error("promtool accepted a broken exposition; the check above proves nothing")
	}
}
