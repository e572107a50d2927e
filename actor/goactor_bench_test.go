package actor_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// benchNode starts a node with an echoing Go actor "echo" (a script one if
// jsEcho) and a script "js" that calls it n times for a message n.
func benchNode(b *testing.B, jsEcho bool) *actor.Node {
	b.Helper()
	echo := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if !c.IsCall() {
				return
			}
			var m struct {
				N    int    `msgpack:"n"`
				Text string `msgpack:"text"`
			}
			if err := c.Decode(&m); err != nil {
				panic(err)
			}
			_ = c.Reply(m)
		})
	}
	js, err := isolate.Compile("js.js", []byte(`export async function receive(n, ctx) {
  for (let i = 0; i < n; i++) await ctx.env.echo.call({n: i, text: "hello"});
  return n;
}`))
	if err != nil {
		b.Fatal(err)
	}
	n, err := actor.NewNode(actor.Options{Receivers: map[string]func() actor.Receiver{"echo": echo}})
	if err != nil {
		b.Fatal(err)
	}
	echoSpec := actor.ChildSpec{Name: "echo", Go: "echo"}
	if jsEcho {
		s, err := isolate.Compile("echo.js", []byte(`export function receive(m) { return {n: m.n, text: m.text}; }`))
		if err != nil {
			b.Fatal(err)
		}
		echoSpec = actor.ChildSpec{Name: "echo", Script: s}
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second), Children: []actor.ChildSpec{
		echoSpec,
		{Name: "js", Script: js, Limits: isolate.Limits{CPU: time.Minute},
			Grants: []actor.GrantSpec{{Name: "echo", To: "echo", Rights: capability.Send}}},
	}}
	if err := n.Start(root); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	return n
}

// BenchmarkGoActor_CallFromJS is one JS cap.call answered by a Go actor.
func BenchmarkGoActor_CallFromJS(b *testing.B) { benchmarkCallFromJS(b, false) }

// BenchmarkGoActor_CallFromJSToJS is the same call answered by a script,
// for comparison.
func BenchmarkGoActor_CallFromJSToJS(b *testing.B) { benchmarkCallFromJS(b, true) }

func benchmarkCallFromJS(b *testing.B, jsEcho bool) {
	n := benchNode(b, jsEcho)
	c, _ := n.Capability("js", capability.Send)
	b.ResetTimer()
	if err := n.Call(context.Background(), c, b.N, nil); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGoActor_CallFromGo is one Node.Call answered by a Go actor.
func BenchmarkGoActor_CallFromGo(b *testing.B) {
	n := benchNode(b, false)
	c, _ := n.Capability("echo", capability.Send)
	msg, err := codec.Encode(map[string]any{"n": 1, "text": "hello"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := n.CallEnvelope(context.Background(), c, msg); err != nil {
			b.Fatal(err)
		}
	}
}
