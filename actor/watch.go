package actor

import (
	"errors"
	"fmt"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

// Slot monitors: cap.monitor({slot: true}) watches a slot, not one
// incarnation. The watcher's incarnation is told each time an incarnation
// of the slot ends (down) and each time the next one starts (up), so a
// watchdog waits for up instead of monitoring again and again while the
// slot is between incarnations. When the slot stops for good, a last down
// with final set ends the monitor.

// slotNote says what a downNote is for a slot monitor.
type slotNote uint8

const (
	slotNone  slotNote = iota // an ordinary monitor's down
	slotDown                  // an incarnation of the slot ended
	slotUp                    // the next incarnation started
	slotFinal                 // the slot stopped for good
)

// notification is the note as the watcher's script receives it.
func (m *downNote) notification() *isolate.Notification {
	n := &isolate.Notification{Kind: "down", Ref: m.ref, Reason: m.reason}
	switch m.slot {
	case slotDown:
		n.Slot = true
	case slotUp:
		n.Kind, n.Slot, n.Reason = "up", true, ""
	case slotFinal:
		n.Slot, n.Final = true, true
	}
	return n
}

// notifySlots tells p's slot watchers of a change; a final note ends
// every slot monitor. lifeMu must be held.
func (p *Process) notifySlots(what slotNote, reason string) {
	for ref, m := range p.life.slots {
		if m.watcher.Incarnation() != m.inc || m.watcher.Status() == StatusStopped {
			delete(p.life.slots, ref) // nobody would receive it
			uncount(p.life.slotted, m)
			continue
		}
		m.watcher.tell(&downNote{inc: m.inc, ref: ref, reason: reason, slot: what})
	}
	if what == slotFinal {
		p.life.slots, p.life.slotted = nil, nil
	}
}

// watchSlot makes watcher's incarnation winc a slot monitor of p and
// returns the reference.
func (p *Process) watchSlot(watcher *Process, winc uint64) (uint64, error) {
	ref := p.node.nextRef.Add(1)
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.life.retired && p.dynamic {
		watcher.tell(&downNote{inc: winc, ref: ref, reason: ReasonNoProc, slot: slotFinal})
		return ref, nil
	}
	if p.life.slots == nil {
		p.life.slots = make(map[uint64]monitorEntry)
	}
	if len(p.life.slots) >= maxMonitors {
		for r, m := range p.life.slots {
			if m.watcher.Incarnation() != m.inc || m.watcher.Status() == StatusStopped {
				delete(p.life.slots, r)
				uncount(p.life.slotted, m)
			}
		}
		if len(p.life.slots) >= maxMonitors {
			return 0, fmt.Errorf("%w: %s has %d slot monitors", errTooManyMonitors, p.path, maxMonitors)
		}
	}
	if err := p.shareLeft(&p.life.slotted, watcher, winc); err != nil {
		return 0, err
	}
	p.life.slots[ref] = monitorEntry{watcher: watcher, inc: winc}
	return ref, nil
}

// MonitorSlot implements isolate.SlotMonitor.
func (h *host) MonitorSlot(c *capability.Capability) (uint64, error) {
	if remoteOf(c) != nil {
		return 0, errors.New("monitor: a slot monitor does not reach a process on another node; monitor its incarnation")
	}
	t, err := h.proc.node.target(c, capability.Monitor, "monitor")
	if p, ok := c.Target().(*Process); ok && errors.Is(err, isolate.ErrNoProc) && !p.dynamic && p.node == h.proc.node {
		// A child of the tree that is stopped now may start again.
		return p.watchSlot(h.proc, h.inc)
	}
	if errors.Is(err, isolate.ErrNoProc) {
		// A dynamic child that has stopped: the monitor ends at once.
		if err := h.queueOwnNote("monitor"); err != nil {
			return 0, err
		}
		ref := h.proc.node.nextRef.Add(1)
		h.proc.tell(&downNote{inc: h.inc, ref: ref, reason: ReasonNoProc, counted: true, slot: slotFinal})
		return ref, nil
	}
	if err != nil {
		return 0, err
	}
	return t.watchSlot(h.proc, h.inc)
}
