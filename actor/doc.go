// Package actor runs Cloister's processes: each worker is an untrusted
// JS/TS script in its own isolate, bound to a protoactor-go actor, with a
// mailbox, links, monitors and exit signals; the Node holds one supervised
// tree of them.
//
// A node starts from a root spec — a supervisor with children, built in code
// or by package manifest — and is reached from Go only through
// capabilities, as a script is:
//
//	node, err := actor.NewNode(actor.Options{Logger: log})
//	err = node.Start(actor.ChildSpec{
//		Name:     "root",
//		Strategy: supervisor.NewOneForOne(3, 5*time.Second),
//		Children: []actor.ChildSpec{{Name: "counter", Script: script}},
//	})
//	c, err := node.Capability("counter", capability.Send)
//	var n int
//	err = node.Call(ctx, c, map[string]any{"type": "get"}, &n)
//	sub := node.Subscribe(func(e actor.Event) { ... }) // crashes, restarts, denials
//	defer sub.Close()
//	err = node.Shutdown(ctx)
//
// Messages from Go are Go values, mapped by package codec (structs with
// msgpack tags, time.Time, []byte, capabilities); a capability in an answer
// is one Go can send to. Lifecycle events arrive on a subscription's own
// goroutine, never on a process's: see Node.Subscribe for the contract.
//
// The package imports capability, mailbox, codec, isolate and protoactor-go;
// supervision strategies live in package supervisor.
package actor
