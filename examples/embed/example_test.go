// Package embed is a Go program outside Cloister's module that embeds it:
// it starts a node from a manifest, calls a script with Go structs,
// receives the script's messages in a Go actor, watches a crash through
// an event subscription, and shuts down. CI runs it from a copy outside
// the repository, with a replace directive pointing at the checkout.
package embed

import (
	"context"
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/manifest"
)

// Booking is the request the script takes.
type Booking struct {
	Type  string `msgpack:"type"`
	User  string `msgpack:"user"`
	Seats int    `msgpack:"seats"`
}

// Answer is the script's answer to a booking.
type Answer struct {
	OK    bool `msgpack:"ok"`
	Total int  `msgpack:"total"`
}

// Audit is one line the script sends to the Go actor.
type Audit struct {
	User  string `msgpack:"user"`
	Seats int    `msgpack:"seats"`
	Total int    `msgpack:"total"`
}

func Example() {
	app, err := manifest.Open("app.yaml")
	if err != nil {
		panic(err)
	}

	// The Go actor named by go: audit in the manifest.
	audits := make(chan Audit, 8)
	opts := app.Options()
	opts.Receivers = map[string]func() actor.Receiver{
		"audit": func() actor.Receiver {
			return actor.ReceiverFunc(func(c *actor.Context) {
				if _, ok := c.Message().(actor.Message); !ok {
					return
				}
				var a Audit
				if err := c.Decode(&a); err != nil {
					panic(err) // crashes this incarnation; its supervisor restarts it
				}
				audits <- a
			})
		},
	}
	node, err := actor.NewNode(opts)
	if err != nil {
		panic(err)
	}

	crashes := make(chan *actor.Crash, 8)
	sub := node.Subscribe(func(e actor.Event) {
		if c, ok := e.(actor.Crashed); ok {
			crashes <- c.Crash
		}
	})
	defer sub.Close()

	if err := node.Start(app.Root); err != nil {
		panic(err)
	}
	booking, err := node.Capability("booking", capability.Send)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var ans Answer
	if err := node.Call(ctx, booking, Booking{Type: "book", User: "ada", Seats: 2}, &ans); err != nil {
		panic(err)
	}
	fmt.Printf("booked: ok=%v total=%d\n", ans.OK, ans.Total)
	a := <-audits
	fmt.Printf("audit: %s took %d, %d in all\n", a.User, a.Seats, a.Total)

	// Two more seats than are left: the script throws, its incarnation
	// crashes, the call fails, and the subscription sees the report.
	err = node.Call(ctx, booking, Booking{Type: "book", User: "grace", Seats: 2}, &ans)
	fmt.Println("second call failed:", err != nil)
	c := <-crashes
	fmt.Printf("crash: %s reason=%s action=%s\n", c.Path, c.Reason, c.Action)

	if err := node.Shutdown(ctx); err != nil {
		panic(err)
	}
	fmt.Println("stopped")
	// Output:
	// booked: ok=true total=2
	// audit: ada took 2, 2 in all
	// second call failed: true
	// crash: booking reason=error action=restart
	// stopped
}
