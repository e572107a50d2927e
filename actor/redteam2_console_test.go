package actor_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
)

// Hostile-tenant attacks on the node's log through console.

// redteam2FloodJS writes msg.n console lines in one turn; "note" writes
// one line made to look like the node's own.
const redteam2FloodJS = `
export function receive(msg, ctx) {
  if (msg.op === "flood") { for (let i = 0; i < msg.n; i++) console.log("flood", i); return "done"; }
  if (msg.op === "big") { const s = "y".repeat(msg.n); for (let i = 0; i < msg.k; i++) console.log(s); return "done"; }
  if (msg.op === "forge") {
    console.error("ok\ntime=2026-01-01T00:00:00Z level=ERROR msg=\"node shutting down\" source=node process=root\n\x1b[2J\x1b[31mFAKE\x1b[0m");
    return "done";
  }
  return "pong";
}`

// redteam2QuietJS logs ten numbered lines when asked.
const redteam2QuietJS = `
export function receive(msg, ctx) {
  for (let i = 0; i < 10; i++) console.log("quiet-line", i);
  return "done";
}`

func redteam2LogNode(t *testing.T, buf *testkit.LockedBuffer) *actor.Node {
	t.Helper()
	flooder := worker(t, "flooder", redteam2FloodJS)
	flooder.Limits = isolate.Limits{CPU: 20 * time.Second, Memory: 256 << 20}
	return testnode.Start(t, actor.Options{Logger: testkit.Logger(buf)},
		storageRoot(flooder, worker(t, "quiet", redteam2QuietJS)))
}

// countLines counts the log lines holding all of subs.
func countLines(log string, subs ...string) int {
	n := 0
next:
	for _, l := range strings.Split(log, "\n") {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		n++
	}
	return n
}

// TestRedteam2_ConsoleFloodIsBounded: one turn writing 100,000 console
// lines must not put them all in the node's log. What is kept is bounded
// by the process's console budget (its burst plus the refill over the
// time the turn took, measured here), the node says once that it is
// dropping lines, and a neighbour's ten lines written after the flood are
// all there.
func TestRedteam2_ConsoleFloodIsBounded(t *testing.T) {
	var buf testkit.LockedBuffer
	n := redteam2LogNode(t, &buf)
	const lines = 100_000
	began := time.Now()
	var done string
	testnode.Call(t, n, "flooder", map[string]any{"op": "flood", "n": lines}, &done)
	took := time.Since(began)
	testnode.Call(t, n, "quiet", "go", &done)

	log := buf.String()
	kept := countLines(log, "msg=\"flood ", "source=console")
	// A line costs at least actor.ConsoleLineCost bytes of the budget.
	bound := (actor.ConsoleBurst + int(took.Seconds()+1)*actor.ConsoleRate) / actor.ConsoleLineCost
	if kept > bound {
		t.Fatalf("%d of %d flood lines reached the log in %v, want at most %d", kept, lines, took, bound)
	}
	t.Logf("%d of %d flood lines kept in %v", kept, lines, took)
	if kept == 0 {
		t.Fatal("no flood line reached the log: the budget must let some through")
	}
	// The node notes the start of each run of drops; a run lasts at least
	// ConsoleResume.
	if got, most := countLines(log, "dropping console lines", "process=flooder"), 1+int(took/actor.ConsoleResume); got < 1 || got > most {
		t.Fatalf("%d notes that the flooder's lines are dropped in %v, want 1 to %d", got, took, most)
	}
	if got := countLines(log, "quiet-line", "process=quiet"); got != 10 {
		t.Fatalf("%d of the neighbour's 10 lines reached the log", got)
	}
}

// TestRedteam2_ConsoleBigLinesAreCutBeforeCopy: a line of a 16 MB string
// is cut to 8 KiB, and a few of them use the byte budget, not the line
// count alone.
func TestRedteam2_ConsoleBigLinesAreCut(t *testing.T) {
	var buf testkit.LockedBuffer
	n := redteam2LogNode(t, &buf)
	var done string
	testnode.Call(t, n, "flooder", map[string]any{"op": "big", "n": 16 << 20, "k": 1000}, &done)
	log := buf.String()
	longest, kept := 0, 0
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "yyyy") {
			kept++
			longest = max(longest, len(l))
		}
	}
	if longest > 8<<10+512 {
		t.Fatalf("a console line of %d bytes reached the log, want about 8 KiB at most", longest)
	}
	// 1000 lines of 8 KiB are 8 MB, past the burst: most are dropped.
	if limit := actor.ConsoleBurst/(8<<10) + 1 + 200; kept > limit {
		t.Fatalf("%d lines of 8 KiB kept, want at most %d", kept, limit)
	}
}

// TestRedteam2_ConsoleCannotForgeNodeLines: newlines, escape sequences and
// key=value text in a console line stay inside its quoted msg; the line
// is one record tagged source=console, in the text and in JSON logs.
func TestRedteam2_ConsoleCannotForgeNodeLines(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf testkit.LockedBuffer
			var h slog.Handler = slog.NewTextHandler(&buf, nil)
			if format == "json" {
				h = slog.NewJSONHandler(&buf, nil)
			}
			n := testnode.Start(t, actor.Options{Logger: slog.New(h)},
				storageRoot(worker(t, "flooder", redteam2FloodJS)))
			var done string
			testnode.Call(t, n, "flooder", map[string]any{"op": "forge"}, &done)
			log := buf.String()
			if strings.ContainsRune(log, 0x1b) {
				t.Fatalf("a raw escape character reached the log:\n%q", log)
			}
			var forged []string
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, "FAKE") || strings.Contains(l, "node shutting down") {
					forged = append(forged, l)
				}
			}
			if len(forged) != 1 || !strings.Contains(forged[0], "console") || !strings.Contains(forged[0], "flooder") {
				t.Fatalf("the forged text is on %d lines, want one tagged with its process and source=console:\n%s",
					len(forged), fmt.Sprint(forged))
			}
		})
	}
}
