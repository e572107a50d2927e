package supervisor

import (
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/mailbox"
)

// supervision is what one incarnation of a supervisor decides, whatever
// its strategy: children start in order and stop in reverse order, a
// child's end is restarted or not by its restart type, and the strategy
// picks which children a restart takes, within the restart intensity. It
// implements actor.Supervision; the actor package carries out what it
// decides. A restarted supervisor gets a new one, with an empty window.
type supervision struct {
	pick func(children []*actor.Process, crashed *actor.Process) []*actor.Process
	win  *window
}

func newSupervision(pick func([]*actor.Process, *actor.Process) []*actor.Process, intensity int, period time.Duration) *supervision {
	return &supervision{pick: pick, win: newWindow(intensity, period)}
}

// Init starts the children in start order, each once the one before it
// has run init.
func (s *supervision) Init(sup *actor.Supervisor) error {
	for _, ch := range sup.Children() {
		if err := sup.StartChild(ch); err != nil {
			return err
		}
	}
	return nil
}

// Terminate stops the children one at a time in reverse start order, each
// within its shutdown time.
func (s *supervision) Terminate(sup *actor.Supervisor) {
	children := sup.Children()
	for i := len(children) - 1; i >= 0; i-- {
		sup.StopChildWait(children[i])
	}
}

// Spawn starts a dynamic child unless the supervisor has its limit of them.
func (s *supervision) Spawn(sup *actor.Supervisor, args *mailbox.Envelope) (*actor.Process, error) {
	p := sup.Process()
	if max := p.MaxChildren(); len(sup.Children()) >= max {
		return nil, fmt.Errorf("spawn: %w: %s has %d, its limit", actor.ErrTooManyChildren, p.Path(), max)
	}
	return sup.StartDynamic(args)
}

// ChildEnded restarts crashed, and the siblings its strategy picks, or
// stops it, or fails the supervisor when the restart would pass its
// intensity.
func (s *supervision) ChildEnded(sup *actor.Supervisor, crashed *actor.Process, cr *actor.Crash) {
	if !restarts(crashed.RestartType(), cr.Reason) {
		// A temporary child, or a transient one that ended normally, is
		// not restarted and costs no restart.
		cr.Action = actor.ActionStop
		sup.Report(crashed, cr)
		sup.StopChild(crashed)
		return
	}
	restart, ok := s.decide(sup.Children(), crashed, time.Now())
	cr.Restarted = ok
	cr.Action = actor.ActionRestart
	if !ok {
		cr.Action = actor.ActionEscalate
	}
	sup.Report(crashed, cr)
	if !ok {
		sup.Fail(ReasonMaxIntensity, cr)
		return
	}
	var again []*actor.Process
	for _, r := range restart {
		switch {
		case r != crashed && ended(r):
			// A child that ended for good stays ended.
		case r != crashed && r.RestartType() == actor.Temporary:
			// OTP terminates a temporary sibling rather than restart it.
			sup.StopChild(r)
		default:
			again = append(again, r)
		}
	}
	if len(again) == 1 {
		sup.RestartChild(again[0], false)
		return
	}
	// Several: one at a time in start order, each up before the next, as
	// OTP restarts a group. The supervisor waits, as it does at start.
	for _, r := range again {
		if r != crashed && ended(r) {
			continue // it stopped while an earlier one restarted
		}
		sup.RestartChild(r, true)
	}
}

// decide records a restart at now and returns the children it takes, or
// false if it passes the intensity.
func (s *supervision) decide(children []*actor.Process, crashed *actor.Process, now time.Time) ([]*actor.Process, bool) {
	if !s.win.add(now) {
		return nil, false
	}
	return s.pick(children, crashed), true
}

// restarts reports whether a child of restart type r is restarted after
// an end with reason.
func restarts(r actor.RestartType, reason string) bool {
	switch r {
	case actor.Temporary:
		return false
	case actor.Transient:
		return !actor.IsNormal(reason)
	}
	return true
}

// ended reports whether p has ended for good.
func ended(p *actor.Process) bool {
	switch p.Status() {
	case actor.StatusStopped, actor.StatusFailed, actor.StatusStopping:
		return true
	}
	return false
}
