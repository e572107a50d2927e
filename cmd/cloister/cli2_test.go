package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Every command answers --help on stdout with exit 0 and lists all its flags.
func TestHelp_EveryCommandListsItsFlags(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"run":     {"debug", "debug-token", "log-level", "log-format", "turn-warning"},
		"dev":     {"debug", "debug-token", "log-level", "log-format", "turn-warning", "debounce"},
		"init":    {"force"},
		"check":   nil,
		"ps":      {"addr", "json", "token"},
		"restart": {"addr", "token"},
		"bench":   {"json", "quick", "noisy", "runs", "spawn", "idle", "idle-runs", "messages", "pairs", "calls", "restarts", "v"},
	} {
		for _, h := range []string{"--help", "-h"} {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), []string{cmd, h}, &out, &errOut); err != nil {
				t.Errorf("%s %s: %v, want exit 0", cmd, h, err)
			}
			if !strings.HasPrefix(out.String(), "usage: cloister "+cmd) {
				t.Errorf("%s %s printed %q", cmd, h, out.String())
			}
			for _, f := range flags {
				if !regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(f) + `\b`).MatchString(out.String()) {
					t.Errorf("%s --help does not list -%s:\n%s", cmd, f, out.String())
				}
			}
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"run", "dev", "init", "check", "ps", "stop|kill|restart", "bench", "version"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") && !strings.Contains(out.String(), "\n  "+cmd+"\n") {
			t.Errorf("the usage does not list %s:\n%s", cmd, out.String())
		}
	}
	err := run(context.Background(), []string{"run", "--bogus", "x"}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "-bogus") {
		t.Errorf("an unknown flag: %v", err)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "cloister ") || !strings.Contains(out.String(), runtime.Version()) {
		t.Fatalf("version printed %q", out.String())
	}
}

// stop, kill and restart find a process by path in a running node.
func TestOperate_RestartKillStopByPath(t *testing.T) {
	const tok = "op-token"
	stderr, _ := start(t, "run", "../../examples/counter/app.yaml", "--debug", "127.0.0.1:0", "--debug-token", tok, "--log-format", "json")
	var addr string
	re := regexp.MustCompile(`"msg":"debug endpoint listening","addr":"([^"]+)"`)
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		m := re.FindStringSubmatch(stderr.String())
		if m == nil {
			return fmt.Errorf("no listening line in JSON:\n%s", stderr)
		}
		addr = m[1]
		return nil
	})
	op := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append(args, "--addr", addr, "--token", tok), &out, &bytes.Buffer{})
		return out.String(), err
	}
	counter := func() (status string, inc, restarts uint64) {
		t.Helper()
		body, err := fetchTree(context.Background(), addr, tok)
		if err != nil {
			t.Fatal(err)
		}
		var tree struct {
			Children []struct {
				Path, Status          string
				Incarnation, Restarts uint64
			}
		}
		if err := json.Unmarshal(body, &tree); err != nil {
			t.Fatal(err)
		}
		for _, c := range tree.Children {
			if c.Path == "counter" {
				return c.Status, c.Incarnation, c.Restarts
			}
		}
		t.Fatal("no counter in the tree")
		return
	}
	if out, err := op("restart", "counter"); err != nil || !strings.Contains(out, "restart counter") {
		t.Fatalf("restart: %q, %v", out, err)
	}
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if st, inc, _ := counter(); st != "running" || inc != 2 {
			return fmt.Errorf("counter %s at incarnation %d", st, inc)
		}
		return nil
	})
	if _, err := op("kill", "counter"); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if st, inc, _ := counter(); st != "running" || inc != 3 {
			return fmt.Errorf("counter %s at incarnation %d", st, inc)
		}
		return nil
	})
	if _, err := op("stop", "/counter/"); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if st, _, _ := counter(); st != "stopped" {
			return fmt.Errorf("counter %s", st)
		}
		return nil
	})
	if _, err := op("restart", "nowhere"); err == nil || !strings.Contains(err.Error(), `no process at "nowhere"`) {
		t.Fatalf("restart of an unknown path: %v", err)
	}
	if _, err := op("stop", "counter"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("stop of a stopped process: %v, want the endpoint's conflict", err)
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"kill", "client", "--addr", addr}, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("kill without the token: %v", err)
	}
}
