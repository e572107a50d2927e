package actor

import (
	"testing"

	proto "github.com/asynkron/protoactor-go/actor"
)

func TestRegistry_SmallTablesKeepWhatTheSystemRegistered(t *testing.T) {
	n, err := NewNode(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.system.Shutdown()
	reg := n.system.ProcessRegistry
	if got := len(reg.LocalPIDs.LocalPIDs); got != registryBuckets {
		t.Fatalf("the registry has %d tables, want %d", got, registryBuckets)
	}
	// What protoactor registered while making the system is still found.
	for _, id := range []string{"eventstream", "deadletter"} {
		if p, ok := reg.GetLocal(id); !ok || p == nil {
			t.Fatalf("protoactor's %q process is no longer registered", id)
		}
	}
	// Processes spawned afterwards are found, each in the one table its
	// id hashes to, and removed.
	props := proto.PropsFromFunc(func(proto.Context) {})
	var pids []*proto.PID
	for range 200 {
		pids = append(pids, n.system.Root.Spawn(props))
	}
	for _, pid := range pids {
		if _, ok := reg.Get(pid); !ok {
			t.Fatalf("%s is not registered", pid.Id)
		}
	}
	total := 0
	for _, m := range reg.LocalPIDs.LocalPIDs {
		total += m.Count()
	}
	if total < len(pids)+2 {
		t.Fatalf("the tables hold %d processes, want at least %d", total, len(pids)+2)
	}
	for _, pid := range pids {
		reg.Remove(pid)
		if _, ok := reg.Get(pid); ok {
			t.Fatalf("%s is still registered after its removal", pid.Id)
		}
	}
}
