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

// The tree shows a turn that holds its mailbox past the node's warning.
func TestDebug_TreeShowsAHeldTurn(t *testing.T) {
	s, err := isolate.Compile("stuck.js", []byte(`
export async function receive(msg) { await new Promise(() => {}); }`))
	if err != nil {
		t.Fatal(err)
	}
	node, err := actor.NewNode(actor.Options{TurnWarning: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second),
		Children: []actor.ChildSpec{{Name: "stuck", Script: s}}}
	if err := node.Start(root); err != nil {
		t.Fatal(err)
	}
	defer node.Shutdown(context.Background())
	srv := httptest.NewServer(debughttp.Handler(debughttp.Config{Node: node, Token: token}))
	defer srv.Close()
	c, _ := node.Capability("stuck", capability.Send)
	if err := node.Send(context.Background(), c, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		resp, err := http.Get(srv.URL + "/debug/tree")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var root debughttp.Process
		if err := json.NewDecoder(resp.Body).Decode(&root); err != nil {
			return err
		}
		if len(root.Children) != 1 || root.Children[0].TurnHeldMS <= 0 {
			return fmt.Errorf("tree %+v shows no held turn", root.Children)
		}
		return nil
	})
}
