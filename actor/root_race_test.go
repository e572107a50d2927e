package actor_test

import (
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/supervisor"
)

// Root and Processes may be read while Start sets the root: run with -race.
func TestNode_RootWhileStarting(t *testing.T) {
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Minute), Children: []actor.ChildSpec{
		{Name: "a", Script: compileJS(t, "a", readyJS)},
		{Name: "b", Script: compileJS(t, "b", readyJS)},
	}}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	seen := make(chan int, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		most := 0
		for {
			select {
			case <-stop:
				seen <- most
				return
			default:
			}
			if r := n.Root(); r != nil && r.Path() != "" {
				t.Errorf("root has path %q, want \"\"", r.Path())
			}
			most = max(most, len(n.Processes()))
		}
	}()
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	defer shutdownNode(t, n)
	close(stop)
	wg.Wait()
	if got := len(n.Processes()); got != 3 {
		t.Errorf("Processes has %d, want 3", got)
	}
	if most := <-seen; most > 3 {
		t.Errorf("Processes had %d entries during the start, more than the tree", most)
	}
}
