// Package testnode is the node fixture that black-box tests share: compile
// a script, start a node that is shut down when the test ends, and send to
// or call a process by its path with msgpack-encoded Go values.
//
// It imports actor and isolate, so only black-box tests (package x_test)
// and packages above actor may use it; white-box tests of actor or isolate
// would form an import cycle.
package testnode

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/vmihailenco/msgpack/v5"
)

// ShutdownTimeout bounds how long a fixture's node may take to shut down
// when its test ends.
const ShutdownTimeout = 20 * time.Second

// CallTimeout bounds a Call made through this package. It is a stop for a
// hang, never a margin: several tests give a turn 20 s of CPU, and under
// the race detector on a loaded machine a turn of 200,000 refused calls
// has taken over 10 s of wall time.
const CallTimeout = 2 * time.Minute

// Script compiles src as the script name (its extension picks JS or TS)
// and fails the test if it does not compile.
func Script(t testing.TB, name string, src []byte) *isolate.Script {
	t.Helper()
	s, err := isolate.Compile(name, src)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

// ScriptFile compiles the file at path, named by its base name as
// errors and stacks show it.
func ScriptFile(t testing.TB, path string) *isolate.Script {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Script(t, filepath.Base(path), src)
}

// New makes a node with opts and shuts it down when the test ends; a
// shutdown that fails or outlasts ShutdownTimeout fails the test. Whether
// the root failed is left to the test (node.Wait). Start it with n.Start,
// after subscribing to what the test watches.
func New(t testing.TB, opts actor.Options) *actor.Node {
	t.Helper()
	n, err := actor.NewNode(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return n
}

// Start is New, then starts the node's tree from root.
func Start(t testing.TB, opts actor.Options, root actor.ChildSpec) *actor.Node {
	t.Helper()
	n := New(t, opts)
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	return n
}

// Send encodes msg and sends it to the process at path, as an operator
// holding a send capability would.
func Send(t testing.TB, n *actor.Node, path string, msg any) {
	t.Helper()
	c, err := n.Capability(path, capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	b, err := msgpack.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.SendEnvelope(context.Background(), c, mailbox.NewEnvelope(b, nil)); err != nil {
		t.Fatalf("send to %s: %v", path, err)
	}
}

// TryCall encodes msg, calls the process at path and returns its raw
// answer or the call's error.
func TryCall(t testing.TB, n *actor.Node, path string, msg any) ([]byte, error) {
	t.Helper()
	c, err := n.Capability(path, capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	b, err := msgpack.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	env, err := n.CallEnvelope(ctx, c, mailbox.NewEnvelope(b, nil))
	if err != nil {
		return nil, err
	}
	return env.Data(), nil
}

// Call encodes msg, calls the process at path and decodes the answer into
// out; an error fails the test.
func Call(t testing.TB, n *actor.Node, path string, msg any, out any) {
	t.Helper()
	res, err := TryCall(t, n, path, msg)
	if err != nil {
		t.Fatalf("call %s: %v", path, err)
	}
	if err := msgpack.Unmarshal(res, out); err != nil {
		t.Fatalf("call %s: decode the answer: %v", path, err)
	}
}
