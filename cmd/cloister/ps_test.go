package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// debugAddr waits for the endpoint's listening line and returns its address.
func debugAddr(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	re := regexp.MustCompile(`debug endpoint listening" addr=(\S+)`)
	var addr string
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		m := re.FindStringSubmatch(stderr.String())
		if m == nil {
			return fmt.Errorf("no listening line:\n%s", stderr)
		}
		addr = m[1]
		return nil
	})
	return addr
}

func post(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPs(t *testing.T) {
	stderr, _ := start(t, "run", "--debug", "127.0.0.1:0", "../../examples/counter/app.yaml")
	addr := debugAddr(t, stderr)

	var out bytes.Buffer
	if err := run(context.Background(), []string{"ps", "--addr", addr}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("ps printed %d lines, want a header and 3 processes:\n%s", len(lines), out.String())
	}
	for i, want := range []string{`^PROCESS\s+ID\s+KIND\s+STATUS\s+INCARNATION\s+RESTARTS\s+MAILBOX$`,
		`^/\s+1\s+one_for_one\s+running\s+1\s+0\s+0$`,
		`^  counter\s+2\s+worker\s+running\s+1\s+0\s+\d+$`,
		`^  client\s+3\s+worker\s+running\s+1\s+0\s+\d+$`} {
		if !regexp.MustCompile(want).MatchString(lines[i]) {
			t.Errorf("line %d = %q, want %s", i, lines[i], want)
		}
	}

	out.Reset()
	if err := run(context.Background(), []string{"ps", "--json", "--addr", "http://" + addr}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var tree struct {
		Kind     string
		Children []struct{ Path string }
	}
	if err := json.Unmarshal(out.Bytes(), &tree); err != nil || tree.Kind != "supervisor" || len(tree.Children) != 2 {
		t.Fatalf("ps --json = %s (%v)", out.String(), err)
	}
}

func TestPs_Unreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = run(context.Background(), []string{"ps", "--addr", addr}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "not reachable") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v, want a clear unreachable error naming %s", err, addr)
	}
	if err := run(context.Background(), []string{"ps", "extra"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("ps with an argument succeeded")
	}
}

func TestRun_GeneratedTokenShownOnce(t *testing.T) {
	t.Setenv(envDebugToken, "")
	stderr, _ := start(t, "run", "--debug", "127.0.0.1:0", "../../examples/counter/app.yaml")
	addr := debugAddr(t, stderr)
	re := regexp.MustCompile(`debug token \(stop/kill/restart\): ([0-9a-f]{32})`)
	m := re.FindAllStringSubmatch(stderr.String(), -1)
	if len(m) != 1 {
		t.Fatalf("the token was shown %d times:\n%s", len(m), stderr)
	}
	tok := m[0][1]
	if n := strings.Count(stderr.String(), tok); n != 1 {
		t.Errorf("the token appears %d times in the output", n)
	}
	url := "http://" + addr + "/debug/processes/2/kill"
	if code := post(t, url, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("kill with a wrong token = %d", code)
	}
	if code := post(t, url, tok); code != http.StatusAccepted {
		t.Errorf("kill with the token = %d", code)
	}
}

func TestRun_TokenFromEnvironment(t *testing.T) {
	t.Setenv(envDebugToken, "from-env")
	stderr, _ := start(t, "run", "--debug", "127.0.0.1:0", "../../examples/counter/app.yaml")
	addr := debugAddr(t, stderr)
	if strings.Contains(stderr.String(), "debug token") || strings.Contains(stderr.String(), "from-env") {
		t.Errorf("a token given by the operator was printed:\n%s", stderr)
	}
	if code := post(t, "http://"+addr+"/debug/processes/2/restart", "from-env"); code != http.StatusAccepted {
		t.Errorf("restart with the environment's token = %d", code)
	}
}

func TestRun_NonLoopbackNeedsTokenEverywhere(t *testing.T) {
	t.Setenv(envDebugToken, "")
	stderr, _ := start(t, "run", "--debug", "0.0.0.0:0", "--debug-token", "wide", "../../examples/counter/app.yaml")
	addr := debugAddr(t, stderr)
	_, port, _ := net.SplitHostPort(addr)
	local := "127.0.0.1:" + port
	resp, err := http.Get("http://" + local + "/debug/tree")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /debug/tree without a token = %d, want 401", resp.StatusCode)
	}
	err = run(context.Background(), []string{"ps", "--addr", local}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "needs a token") {
		t.Errorf("ps without a token: %v", err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"ps", "--addr", local, "--token", "wide"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "counter") {
		t.Errorf("ps with the token: %v\n%s", err, out.String())
	}
	t.Setenv(envDebugToken, "wide")
	out.Reset()
	if err := run(context.Background(), []string{"ps", "--addr", local}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "counter") {
		t.Errorf("ps with $%s: %v", envDebugToken, err)
	}
}

// TestRun_DebugRefusesForeignHost: on loopback the data routes are open, so
// a request naming another host (a DNS-rebound page) is refused.
func TestRun_DebugRefusesForeignHost(t *testing.T) {
	stderr, _ := start(t, "run", "--debug", "127.0.0.1:0", "../../examples/counter/app.yaml")
	addr := debugAddr(t, stderr)
	for host, want := range map[string]int{addr: http.StatusOK, "rebound.example": http.StatusMisdirectedRequest} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/debug/tree", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /debug/tree with Host %q = %d, want %d", host, resp.StatusCode, want)
		}
	}
}
