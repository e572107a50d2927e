// Package cluster carries frames between Cloister nodes over NATS. A
// *Transport implements wire.Transport for package actor: it connects a
// node to a NATS server or cluster, tells the node which peers are up,
// and hands it, in order, every frame a peer sent it.
//
//	t, err := cluster.Dial(cluster.Config{Name: "a", URLs: urls,
//		CertFile: "node-a.pem", KeyFile: "node-a-key.pem", CAFile: "ca.pem"})
//	if err != nil {
//		return err
//	}
//	n, err := actor.NewNode(actor.Options{Cluster: t /* ... */})
//	// ...
//	if err := t.Start(n); err != nil { // frames now reach n.Deliver
//		return err
//	}
//	// ... n.Shutdown(ctx); t.Close()
//
// # Subjects and who may use them
//
// With the prefix P (default "cloister"), node Y sends to node X on
// P.f.X.Y and announces itself on P.hb.Y. The NATS user of node Y, mapped
// from its client certificate (subject "CN=Y"), may publish only to
// P.f.*.Y and P.hb.Y and subscribe only to P.f.Y.* and P.hb.*
// (NodePermissions). So the server itself guarantees that the last token
// of a frame subject names the sender, and that no node reads frames
// meant for another. ServerConfig writes a nats-server configuration with
// those users; StartDevServer runs one inside the process for a cluster
// on one machine, and WriteDevCerts makes a CA and node certificates for
// it.
//
// # Membership
//
// Every node publishes a heartbeat carrying its incarnation (64 random
// bits picked at Dial) every Heartbeat (250ms). A peer silent for
// DeadAfter (1.5s) is lost: Handler.PeerDown. A heartbeat or batch with a
// new incarnation of a known peer reports the old one down, then the new
// one up. Close tells every peer the node is leaving, after its last
// frames, so they lose it at once.
//
// A lost incarnation's late messages are dropped, and it is told it was
// lost. A node that froze or was cut off, and resumes, so learns it and
// reports its peers lost in turn; once both sides have reported each
// other lost, and told each other so, the same incarnation may come back
// up (PeerDown(inc), later PeerUp(inc) again). Nothing a node held of
// the other survives that: every monitor and link across the pair has
// fired on both sides.
//
// # Flow
//
// Send encodes the frame at once and queues it for the peer; it never
// blocks, and refuses with wire.ErrNoConnection or wire.ErrBackpressure.
// One goroutine per peer packs queued frames into batches of up to
// MaxBatchBytes and publishes them in order. The receiver acknowledges the
// bytes it has processed; a sender never has more than Window bytes
// unacknowledged to one peer. A receiver that falls behind thus stops its
// senders at the window, their queues fill, and the node sending learns
// it through ErrBackpressure, instead of NATS dropping messages for a slow
// consumer. All inbound messages are processed by one goroutine at a
// time, so the Handler is never called concurrently. Whatever fails to
// decode is dropped and counted in Stats; it never reaches the Handler.
//
// A Handler may also hold a peer back on purpose (wire.Holder), as a
// node does while a process's full mailbox keeps it from delivering that
// peer's messages. While it holds the peer, the transport delivers what
// arrives but acknowledges nothing, so the peer's window fills and its
// Send reports ErrBackpressure; every Heartbeat it sends the peer a hold
// notice that repeats its last acknowledgement. The notice is what keeps
// the window shut: a sender reopens a window only when a live peer has
// neither acknowledged nor sent a hold notice for DeadAfter (acks or
// batches lost on the way), so a deliberate hold, however long, never
// lets more than Window bytes through. When the Handler lets go it calls
// Release, and the transport acknowledges at once.
//
// Across a lost connection delivery is at most once: frames queued for a
// peer that is lost are dropped (Stats.DropsPeerLost), and the node
// fails what waited on them when it sees PeerDown.
package cluster
