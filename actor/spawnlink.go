package actor

import (
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"

	proto "github.com/asynkron/protoactor-go/actor"
)

// spawn_link: a child spawned with {link: true} is linked to its
// spawner's incarnation, its owner, before the owner hears of it. When
// the owner's incarnation ends, the child ends with reason linked (unless
// it traps exits); when the child crashes, the owner receives the exit
// signal. Such a child is temporary whatever its template says: a
// restarted child would have no owner, which is the leak the link is there
// to stop. The owner decides whether to spawn again.

// SpawnLink implements isolate.LinkSpawner.
func (h *host) SpawnLink(c *capability.Capability, args *mailbox.Envelope) (uint64, error) {
	return h.spawn(c, args, true)
}

// linkSpawned links the new child ch with incarnation inc of its owner and
// reports whether it could; if the owner's incarnation has ended, the child
// is stopped. It runs on the template supervisor's goroutine, which decides
// the child's end, so the child cannot be restarted before it is owned.
func (g *group) linkSpawned(c proto.Context, owner *Process, inc uint64, ch *Process) bool {
	ch.owned.Store(true)
	unlock := lockPair(owner, ch)
	if owner.life.live != inc {
		unlock()
		(&Supervisor{g: g, c: c}).StopChild(ch)
		return false
	}
	if ch.life.live == 0 {
		// The child has ended already: the owner hears of it as of a
		// link to a process that has ended.
		unlock()
		owner.tell(&exitSignal{inc: inc, from: ch.path, reason: ReasonNoProc, linked: true})
		return true
	}
	if owner.life.links == nil {
		owner.life.links = make(map[*Process]uint64)
	}
	if ch.life.links == nil {
		ch.life.links = make(map[*Process]uint64)
	}
	owner.life.links[ch] = ch.life.live
	ch.life.links[owner] = inc
	unlock()
	return true
}
