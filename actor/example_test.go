package actor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// Build a tree in code: a one_for_one supervisor over a counter, with a
// client granted the right to send to it.
func Example_treeInCode() {
	counter, err := isolate.Compile("counter.js", []byte(`
let n = 0;
export function receive(msg) { n += msg.by ?? 0; return n; }`))
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := isolate.Compile("client.js", []byte(`
export async function receive(msg, ctx) { return await ctx.env.counter.call({by: msg.times * 10}); }`))
	if err != nil {
		fmt.Println(err)
		return
	}
	node, _ := actor.NewNode(actor.Options{})
	err = node.Start(actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(3, 5*time.Second),
		Children: []actor.ChildSpec{
			{Name: "counter", Script: counter},
			{Name: "client", Script: client, Grants: []actor.GrantSpec{
				{Name: "counter", To: "counter", Rights: capability.Send},
			}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Shutdown(context.Background())

	c, _ := node.Capability("client", capability.Send)
	var total int
	for range 2 {
		if err := node.Call(context.Background(), c, map[string]int{"times": 3}, &total); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println("counter:", total)
	// Output: counter: 60
}

// Call a JS actor with Go structs: fields map by their msgpack tags, a
// time.Time arrives as a Date, and a capability in the answer is one Go
// can use.
func ExampleNode_Call() {
	type Order struct {
		Item string    `msgpack:"item"`
		Qty  int       `msgpack:"qty"`
		Due  time.Time `msgpack:"due"`
	}
	type Receipt struct {
		Line    string                 `msgpack:"line"`
		Ship    time.Time              `msgpack:"ship"`
		Tracker *capability.Capability `msgpack:"tracker"`
	}
	shop, _ := isolate.Compile("shop.js", []byte(`
export function receive(order, ctx) {
	if (order.track) return "tracked";
	const ship = new Date(order.due.getTime() - 24 * 3600 * 1000);
	return {line: order.qty + " x " + order.item, ship, tracker: ctx.self.attenuate(["send"])};
}`))
	node, _ := actor.NewNode(actor.Options{})
	if err := node.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, 5*time.Second),
		Children: []actor.ChildSpec{{Name: "shop", Script: shop}}}); err != nil {
		fmt.Println(err)
		return
	}
	defer node.Shutdown(context.Background())

	ctx := context.Background()
	c, _ := node.Capability("shop", capability.Send)
	var r Receipt
	due := time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC)
	if err := node.Call(ctx, c, Order{Item: "tea", Qty: 2, Due: due}, &r); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Line, "ships", r.Ship.Format(time.DateOnly))
	var status string
	if err := node.Call(ctx, r.Tracker, map[string]bool{"track": true}, &status); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("through the returned capability:", status, r.Tracker.Rights())
	// Output:
	// 2 x tea ships 2027-01-14
	// through the returned capability: tracked send
}

// Watch crashes through a subscription: the callback runs on the
// subscription's own goroutine, and the crash report carries the message
// that crashed the process.
func ExampleNode_Subscribe() {
	fragile, _ := isolate.Compile("fragile.js", []byte(`
export function receive(msg) { if (msg.boom) throw new Error("boom"); }`))
	node, _ := actor.NewNode(actor.Options{})
	crashes := make(chan *actor.Crash, 1)
	sub := node.Subscribe(func(e actor.Event) {
		if c, ok := e.(actor.Crashed); ok {
			select {
			case crashes <- c.Crash:
			default: // never block the subscription's goroutine for long
			}
		}
	})
	defer sub.Close()
	if err := node.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, 5*time.Second),
		Children: []actor.ChildSpec{{Name: "fragile", Script: fragile}}}); err != nil {
		fmt.Println(err)
		return
	}
	defer node.Shutdown(context.Background())

	c, _ := node.Capability("fragile", capability.Send)
	_ = node.Send(context.Background(), c, map[string]any{"boom": true, "note": "first"})
	cr := <-crashes
	var msg struct {
		Note string `msgpack:"note"`
	}
	_ = codec.Decode(cr.MessageEnvelope(), &msg)
	fmt.Printf("%s crashed (%s: %v) on the %q message; %s\n", cr.Path, cr.Reason, cr.Err, msg.Note, cr.Action)
	// Output: fragile crashed (error: Error: boom) on the "first" message; restart
}
