package isolate

import (
	"sync"

	"github.com/cloister-rt/cloister/capability"
)

// clist records the capabilities an incarnation has received in messages
// or made (attenuate, revocable), beyond ctx.self and its grants, so that
// operators can see what a process holds. A script may have dropped some
// of them since; the record cannot tell. It keeps the first maxCList.
type clist struct {
	mu   sync.Mutex
	caps []*capability.Capability
	seen map[*capability.Capability]bool
	more bool // some were not recorded
}

const maxCList = 1024

func (l *clist) add(c *capability.Capability) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[c] {
		return
	}
	if len(l.caps) == maxCList {
		l.more = true
		return
	}
	if l.seen == nil {
		l.seen = make(map[*capability.Capability]bool)
	}
	l.seen[c] = true
	l.caps = append(l.caps, c)
}

// Received returns the capabilities the incarnation has received in
// messages or made, beyond ctx.self and its grants, oldest first, and
// whether more were left out. Safe to call from any goroutine.
func (i *Isolate) Received() (caps []*capability.Capability, more bool) {
	i.clist.mu.Lock()
	defer i.clist.mu.Unlock()
	return append([]*capability.Capability(nil), i.clist.caps...), i.clist.more
}
