package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestParseArgs_FlagsAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		pos       []string
		debug     string
		debounced bool
	}{
		{[]string{"app.yaml", "--debug", "x:1"}, []string{"app.yaml"}, "x:1", false},
		{[]string{"--debug", "x:1", "app.yaml", "--quick"}, []string{"app.yaml"}, "x:1", true},
		{[]string{"a", "--quick", "b"}, []string{"a", "b"}, "", true},
		{[]string{"--", "--debug"}, []string{"--debug"}, "", false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		debug := fs.String("debug", "", "")
		quick := fs.Bool("quick", false, "")
		pos, err := parseArgs(fs, tc.args)
		if err != nil || !slices.Equal(pos, tc.pos) || *debug != tc.debug || *quick != tc.debounced {
			t.Errorf("%q: %q, debug %q, quick %v, %v", tc.args, pos, *debug, *quick, err)
		}
	}
}

// An operator's restart runs the script as its file is now.
func TestRun_OperatorRestartRunsTheEditedScript(t *testing.T) {
	dir := t.TempDir()
	app := writeFile(t, dir, "app.yaml", devManifest)
	version := func(v int) string {
		return fmt.Sprintf("%s\nexport function inspect() { return {v: %d}; }\n", devScript(v), v)
	}
	writeFile(t, dir, "svc.js", version(1))
	const tok = "restart-token"
	stderr, _ := start(t, "run", app, "--debug", "127.0.0.1:0", "--debug-token", tok) // flags after the manifest
	var addr string
	re := regexp.MustCompile(`debug endpoint listening" addr=(\S+)`)
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		m := re.FindStringSubmatch(stderr.String())
		if m == nil {
			return fmt.Errorf("no listening line:\n%s", stderr)
		}
		addr = m[1]
		return nil
	})
	getJSON := func(path string, out any) error {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return json.NewDecoder(resp.Body).Decode(out)
	}
	var tree struct{ Children []struct{ ID uint64 } }
	if err := getJSON("/debug/tree", &tree); err != nil || len(tree.Children) != 1 {
		t.Fatalf("tree: %+v, %v", tree, err)
	}
	id := tree.Children[0].ID
	stateIs := func(want int) func() error {
		return func() error {
			var st struct{ State struct{ V int } }
			if err := getJSON(fmt.Sprintf("/debug/processes/%d/state", id), &st); err != nil {
				return err
			}
			if st.State.V != want {
				return fmt.Errorf("version %d, want %d", st.State.V, want)
			}
			return nil
		}
	}
	if err := stateIs(1)(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "svc.js", version(2))
	restart := func() int {
		req, _ := http.NewRequest("POST", fmt.Sprintf("http://%s/debug/processes/%d/restart", addr, id), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := restart(); code != http.StatusAccepted {
		t.Fatalf("restart: %d", code)
	}
	checkFor(t, 10*time.Second, 10*time.Millisecond, stateIs(2))
	// A script that does not compile fails the restart; the old code runs on.
	writeFile(t, dir, "svc.js", "export function receive( {\n")
	if code := restart(); code < 400 {
		t.Fatalf("restart with a broken script: %d, want an error", code)
	}
	if err := stateIs(2)(); err != nil {
		t.Fatal(err)
	}
}
