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

// The table and the detail show each process's CPU time and memory as
// its governance counted them, and sort by both: a worker that spins
// comes first by CPU, one that keeps 8 MiB of strings shows them.
func TestDebug_ProcessTableCPUAndMemory(t *testing.T) {
	spin, err := isolate.Compile("spin.js", []byte(`
export function receive(n) { let x = 0; for (let i = 0; i < n; i++) x = (x + i) % 7; return x; }`))
	if err != nil {
		t.Fatal(err)
	}
	hold, err := isolate.Compile("hold.js", []byte(`
const kept = [];
export function receive(n) { for (let i = 0; i < n; i++) kept.push("x".repeat(1024) + i); return kept.length; }`))
	if err != nil {
		t.Fatal(err)
	}
	idle, err := isolate.Compile("idle.js", []byte(`export function receive() { return 1; }`))
	if err != nil {
		t.Fatal(err)
	}
	node, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	limits := isolate.Limits{CPU: 30 * time.Second, Memory: 256 << 20}
	if err := node.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: []actor.ChildSpec{
		{Name: "idle", Script: idle},
		{Name: "spin", Script: spin, Limits: limits},
		{Name: "hold", Script: hold, Limits: limits},
	}}); err != nil {
		t.Fatal(err)
	}
	defer node.Shutdown(context.Background())
	srv := httptest.NewServer(debughttp.Handler(debughttp.Config{Node: node, Token: token}))
	defer srv.Close()
	call := func(path string, arg int) {
		t.Helper()
		c, _ := node.Capability(path, capability.Send)
		var out int
		if err := node.Call(context.Background(), c, arg, &out); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	call("idle", 0)
	call("spin", 5_000_000)
	call("hold", 8*1024)
	getJSON := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var byCPU, byMemory debughttp.Table
	getJSON("/debug/processes?sort=cpu", &byCPU)
	getJSON("/debug/processes?sort=memory", &byMemory)
	rows := map[string]debughttp.Row{}
	for _, r := range byCPU.Processes {
		rows[r.Path] = r
	}
	if byCPU.Processes[0].Path != "spin" || rows["spin"].CPUMicros < 1000 || rows["spin"].CPUMicros <= rows["idle"].CPUMicros {
		t.Errorf("by cpu: %+v", byCPU.Processes)
	}
	// Memory is the limiter's account, garbage since the last heap walk
	// included: the spinner's boxed numbers count too, so only what the
	// holder keeps and the idle worker's little are certain.
	for i := 1; i < len(byMemory.Processes); i++ {
		if byMemory.Processes[i-1].MemoryBytes < byMemory.Processes[i].MemoryBytes {
			t.Errorf("by memory, not in order: %+v", byMemory.Processes)
		}
	}
	if rows["hold"].MemoryBytes < 8<<20 || rows["idle"].MemoryBytes >= rows["hold"].MemoryBytes || rows["idle"].MemoryBytes == 0 {
		t.Errorf("memory: hold %d, idle %d", rows["hold"].MemoryBytes, rows["idle"].MemoryBytes)
	}
	if r := rows[""]; r.CPUMicros != 0 || r.MemoryBytes != 0 {
		t.Errorf("the root supervisor has no isolate: %+v", r)
	}
	p, _ := node.Lookup("spin")
	var d debughttp.Detail
	getJSON(fmt.Sprintf("/debug/processes/%d", p.ID()), &d)
	if d.Counters.CPUMicros < rows["spin"].CPUMicros {
		t.Errorf("detail cpu %d µs, table %d µs", d.Counters.CPUMicros, rows["spin"].CPUMicros)
	}
	// The total survives a restart: the ended incarnation's CPU is kept.
	before := p.CPUTime()
	if err := node.Restart(p.ID()); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if p.Incarnation() != 2 || p.Status() != actor.StatusRunning {
			return fmt.Errorf("incarnation %d, %s", p.Incarnation(), p.Status())
		}
		return nil
	})
	if after := p.CPUTime(); after < before {
		t.Errorf("cpu time fell across a restart: %v then %v", before, after)
	}
}
