package actor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// A Go actor in the same tree as a script: the script reaches it through
// the capability the tree grants it, and calls it like any process.
func ExampleReceiver() {
	// The Go actor: a fresh one per incarnation.
	signups := func() actor.Receiver {
		total := 0
		return actor.ReceiverFunc(func(c *actor.Context) {
			if _, ok := c.Message().(actor.Message); !ok {
				return // Init, Down, Exit, Terminate
			}
			var m struct {
				User  string `msgpack:"user"`
				Seats int    `msgpack:"seats"`
			}
			if err := c.Decode(&m); err != nil {
				_ = c.Fail(err)
				return
			}
			total += m.Seats
			fmt.Printf("Go received: %s wants %d seats\n", m.User, m.Seats)
			_ = c.Reply(map[string]any{"total": total})
		})
	}
	client, err := isolate.Compile("client.js", []byte(`
export async function receive(user, ctx) {
  const r = await ctx.env.signups.call({user, seats: 2});
  return user + " booked; " + r.total + " seats in all";
}`))
	if err != nil {
		panic(err)
	}

	node, err := actor.NewNode(actor.Options{
		Receivers: map[string]func() actor.Receiver{"signups": signups},
	})
	if err != nil {
		panic(err)
	}
	root := actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(3, 5*time.Second),
		Children: []actor.ChildSpec{
			{Name: "signups", Go: "signups"}, // go: signups in a manifest
			{Name: "client", Script: client, Grants: []actor.GrantSpec{
				{Name: "signups", To: "signups", Rights: capability.Send},
			}},
		},
	}
	if err := node.Start(root); err != nil {
		panic(err)
	}
	defer node.Shutdown(context.Background())

	c, err := node.Capability("client", capability.Send)
	if err != nil {
		panic(err)
	}
	for _, user := range []string{"ada", "grace"} {
		var s string
		if err := node.Call(context.Background(), c, user, &s); err != nil {
			panic(err)
		}
		fmt.Println("JS answered:", s)
	}
	// Output:
	// Go received: ada wants 2 seats
	// JS answered: ada booked; 2 seats in all
	// Go received: grace wants 2 seats
	// JS answered: grace booked; 4 seats in all
}
