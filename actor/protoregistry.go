package actor

import proto "github.com/asynkron/protoactor-go/actor"

// registryBuckets is how many of protoactor's process-registry tables a
// node keeps. protoactor makes 1,024, each of 32 locked maps: 2.9 MB per
// node whatever its size, about 290 bytes per actor of a 10,000-actor
// node. 32 tables (1,024 locks) serve two to a few dozen cores.
const registryBuckets = 32

// shrinkRegistry gives sys a registry of registryBuckets tables, keeping
// the processes it already holds (the dead-letter and event-stream
// processes). It must run before sys is used. protoactor offers no option
// for the size; its fields are exported, and the tables are reused from
// its own, so no other map implementation is involved.
func shrinkRegistry(sys *proto.ActorSystem) {
	old := sys.ProcessRegistry.LocalPIDs
	if len(old.LocalPIDs) <= registryBuckets {
		return
	}
	items := make(map[string]any)
	for _, m := range old.LocalPIDs {
		if m.Count() == 0 {
			continue // Items starts a goroutine per shard: only where needed
		}
		for id, p := range m.Items() {
			items[id] = p
		}
	}
	kept := &proto.SliceMap{LocalPIDs: append(old.LocalPIDs[:0:0], old.LocalPIDs[:registryBuckets]...)}
	for _, m := range kept.LocalPIDs {
		m.Clear()
	}
	for id, p := range items {
		kept.GetBucket(id).Set(id, p)
	}
	sys.ProcessRegistry.LocalPIDs = kept
}
