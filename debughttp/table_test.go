package debughttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/debughttp"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// The process table pages, sorts and searches the whole node.
func TestDebug_ProcessTable(t *testing.T) {
	s, err := isolate.Compile("w.js", []byte(`
export async function receive(msg) { if (msg === "hold") await new Promise(() => {}); return 1; }`))
	if err != nil {
		t.Fatal(err)
	}
	var children []actor.ChildSpec
	for k := 0; k < 250; k++ {
		children = append(children, actor.ChildSpec{Name: fmt.Sprintf("w%03d", k), Script: s})
	}
	node, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: children}); err != nil {
		t.Fatal(err)
	}
	defer node.Shutdown(context.Background())
	srv := httptest.NewServer(debughttp.Handler(debughttp.Config{Node: node, Token: token}))
	defer srv.Close()
	// w123 holds its mailbox with 3 messages queued behind the held turn.
	c, _ := node.Capability("w123", capability.Send)
	for _, m := range []string{"hold", "a", "b", "c"} {
		if err := node.Send(context.Background(), c, m); err != nil {
			t.Fatal(err)
		}
	}
	get := func(query string) (int, debughttp.Table) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/debug/processes" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tb debughttp.Table
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&tb); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, tb
	}
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		_, tb := get("?sort=mailbox&limit=1")
		if len(tb.Processes) != 1 || tb.Processes[0].Path != "w123" || tb.Processes[0].MailboxDepth != 3 {
			return fmt.Errorf("the fullest mailbox: %+v", tb.Processes)
		}
		return nil
	})
	code, tb := get("")
	if code != 200 || tb.Total != 251 || len(tb.Processes) != 100 || tb.Processes[0].Path != "" || tb.Processes[1].Path != "w000" {
		t.Fatalf("first page: %d, total %d, %d rows, first %+v", code, tb.Total, len(tb.Processes), tb.Processes[:2])
	}
	if _, tb := get("?offset=200&limit=100"); tb.Total != 251 || len(tb.Processes) != 51 || tb.Processes[50].Path != "w249" {
		t.Fatalf("last page: total %d, %d rows", tb.Total, len(tb.Processes))
	}
	if _, tb := get("?offset=300"); tb.Total != 251 || len(tb.Processes) != 0 {
		t.Fatalf("past the end: %+v", tb)
	}
	if _, tb := get("?q=w01&sort=path&order=desc"); tb.Total != 10 || tb.Processes[0].Path != "w019" || tb.Processes[9].Path != "w010" {
		t.Fatalf("search: %+v", tb)
	}
	if _, tb := get("?status=running&limit=1000"); tb.Total != 251 {
		t.Fatalf("status filter: total %d", tb.Total)
	}
	for _, bad := range []string{"?limit=0", "?limit=1001", "?offset=-1", "?offset=x", "?sort=heap", "?order=up", "?limit=99999999999"} {
		if code, _ := get(bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
}
