package actor_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"
)

// sendBytes sends a message already encoded.
func sendBytes(n *actor.Node, c *capability.Capability, b []byte) error {
	return n.SendEnvelope(context.Background(), c, mailbox.NewEnvelope(b, nil))
}

// callBytes calls with a message already encoded and returns the answer's bytes.
func callBytes(ctx context.Context, n *actor.Node, c *capability.Capability, b []byte) ([]byte, error) {
	env, err := n.CallEnvelope(ctx, c, mailbox.NewEnvelope(b, nil))
	if err != nil {
		return nil, err
	}
	return env.Data(), nil
}

// startTyped starts a node with the JS workers in scripts (name -> source)
// under a one_for_one root and stops it when the test ends.
func startTyped(t *testing.T, scripts map[string]string) *actor.Node {
	t.Helper()
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second)}
	for _, name := range []string{"echo", "counter", "relay"} {
		src, ok := scripts[name]
		if !ok {
			continue
		}
		s, err := isolate.Compile(name+".js", []byte(src))
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		root.Children = append(root.Children, actor.ChildSpec{Name: name, Script: s})
	}
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return n
}

func capTo(t *testing.T, n *actor.Node, path string, rights capability.Rights) *capability.Capability {
	t.Helper()
	c, err := n.Capability(path, rights)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const typedEchoJS = `
export function receive(msg, ctx) {
	return {
		id: msg.id + 1,
		due: new Date(msg.due.getTime() + 1000),
		isDate: msg.due instanceof Date,
		data: msg.data instanceof Uint8Array ? msg.data.map(b => b * 2) : null,
		tags: msg.tags.concat(["js"]),
		missing: undefined,
		self: ctx.self.attenuate(["send"]),
	};
}`

const typedCounterJS = `
let n = 0;
export function receive(msg) {
	if (msg.type === "inc") n += msg.by;
	return n;
}`

// typedRelayJS calls the capability it is sent and answers with the result.
const typedRelayJS = `
export async function receive(msg) {
	return await msg.to.call({type: "inc", by: msg.by});
}`

type job struct {
	ID   int       `msgpack:"id"`
	Due  time.Time `msgpack:"due"`
	Data []byte    `msgpack:"data"`
	Tags []string  `msgpack:"tags"`
}

type echoed struct {
	ID      int                    `msgpack:"id"`
	Due     time.Time              `msgpack:"due"`
	IsDate  bool                   `msgpack:"isDate"`
	Data    []byte                 `msgpack:"data"`
	Tags    []string               `msgpack:"tags"`
	Missing any                    `msgpack:"missing"`
	Self    *capability.Capability `msgpack:"self"`
}

func TestNode_CallWithStructs(t *testing.T) {
	n := startTyped(t, map[string]string{"echo": typedEchoJS})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	due := time.Date(2026, 12, 7, 1, 2, 3, 456_000_000, time.UTC)
	var out echoed
	err := n.Call(ctx, capTo(t, n, "echo", capability.Send), job{ID: 41, Due: due, Data: []byte{1, 2, 3}, Tags: []string{"go"}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != 42 {
		t.Errorf("id = %d, want 42", out.ID)
	}
	if !out.IsDate || !out.Due.Equal(due.Add(time.Second)) {
		t.Errorf("due = %v (a Date in JS: %v), want %v", out.Due, out.IsDate, due.Add(time.Second))
	}
	if !bytes.Equal(out.Data, []byte{2, 4, 6}) {
		t.Errorf("data = %v, want [2 4 6]", out.Data)
	}
	if len(out.Tags) != 2 || out.Tags[0] != "go" || out.Tags[1] != "js" {
		t.Errorf("tags = %v, want [go js]", out.Tags)
	}
	if out.Missing != (codec.Undefined{}) {
		t.Errorf("missing = %#v, want codec.Undefined{}", out.Missing)
	}
	// The capability in the answer is one Go can use, with the rights JS gave it.
	if out.Self == nil || out.Self.Rights() != capability.Send {
		t.Fatalf("self = %v, want a capability with send only", out.Self)
	}
	var again echoed
	if err := n.Call(ctx, out.Self, job{ID: 1, Due: due, Tags: []string{}}, &again); err != nil || again.ID != 2 {
		t.Fatalf("call through the returned capability: %+v, %v", again, err)
	}
	if err := out.Self.Check(capability.Kill, "kill"); !errors.Is(err, capability.ErrDenied) {
		t.Errorf("the returned capability carries kill: %v", err)
	}
}

func TestNode_SendCapabilityFromGo(t *testing.T) {
	n := startTyped(t, map[string]string{"counter": typedCounterJS, "relay": typedRelayJS})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	counter := capTo(t, n, "counter", capability.Send)
	var got int
	if err := n.Call(ctx, capTo(t, n, "relay", capability.Send), map[string]any{"to": counter, "by": 5}, &got); err != nil {
		t.Fatal(err)
	}
	if got != 5 {
		t.Fatalf("relay answered %d, want 5", got)
	}
	if err := n.Send(ctx, counter, map[string]any{"type": "inc", "by": 2}); err != nil {
		t.Fatal(err)
	}
	if err := n.Call(ctx, counter, map[string]string{"type": "get"}, &got); err != nil || got != 7 {
		t.Fatalf("counter = %d, %v; want 7", got, err)
	}
}

func TestNode_TypedErrors(t *testing.T) {
	n := startTyped(t, map[string]string{"counter": typedCounterJS})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Send(ctx, capTo(t, n, "counter", capability.Monitor), map[string]any{"type": "inc", "by": 1}); !errors.Is(err, capability.ErrDenied) {
		t.Errorf("send without the send right = %v, want ErrDenied", err)
	}
	if err := n.Send(ctx, capTo(t, n, "counter", capability.Send), make(chan int)); !errors.Is(err, codec.ErrUnsupported) {
		t.Errorf("send of a channel = %v, want ErrUnsupported", err)
	}
	var s string
	err := n.Call(ctx, capTo(t, n, "counter", capability.Send), map[string]any{"type": "get"}, &s)
	if err == nil || !strings.Contains(err.Error(), "cannot put an integer into string") {
		t.Errorf("decoding a number into a string = %v, want an error saying so", err)
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if err := n.Send(done, capTo(t, n, "counter", capability.Send), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("send with an ended context = %v, want context.Canceled", err)
	}
}

// TestCrash_MessageCapabilityIsUsable: the message that crashed a process
// decodes from its crash report, capabilities included.
func TestCrash_MessageCapabilityIsUsable(t *testing.T) {
	const boomJS = `export function receive(msg) { if (msg.boom) throw new Error("boom"); return 0; }`
	n := startTyped(t, map[string]string{"echo": boomJS, "counter": typedCounterJS})
	crashes := make(chan *actor.Crash, 4)
	n.Subscribe(func(e actor.Event) {
		if c, ok := e.(actor.Crashed); ok {
			select {
			case crashes <- c.Crash:
			default:
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	counter := capTo(t, n, "counter", capability.Send)
	err := n.Call(ctx, capTo(t, n, "echo", capability.Send), map[string]any{"boom": true, "peer": counter}, nil)
	if err == nil {
		t.Fatal("the call that crashed the callee succeeded")
	}
	var cr *actor.Crash
	select {
	case cr = <-crashes:
	case <-ctx.Done():
		t.Fatal("no crash event")
	}
	var msg struct {
		Boom bool                   `msgpack:"boom"`
		Peer *capability.Capability `msgpack:"peer"`
	}
	if err := codec.Decode(cr.MessageEnvelope(), &msg); err != nil {
		t.Fatal(err)
	}
	var got int
	if !msg.Boom || msg.Peer == nil {
		t.Fatalf("crash message = %+v", msg)
	}
	if err := n.Call(ctx, msg.Peer, map[string]any{"type": "inc", "by": 3}, &got); err != nil || got != 3 {
		t.Fatalf("call through the crash report's capability = %d, %v; want 3", got, err)
	}
}
