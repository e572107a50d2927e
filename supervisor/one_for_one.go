package supervisor

import (
	"time"

	"github.com/cloister-rt/cloister/actor"
)

// OneForOne restarts only the child that crashed.
type OneForOne struct{ in *intensity }

// NewOneForOne returns a one_for_one strategy allowing intensity restarts in period.
func NewOneForOne(intensity int, period time.Duration) *OneForOne {
	return &OneForOne{in: newIntensity(intensity, period)}
}

// OnCrash implements actor.Strategy.
func (s *OneForOne) OnCrash(_ []*actor.Process, crashed *actor.Process, now time.Time) actor.Decision {
	if !s.in.add(now) {
		return actor.Decision{Escalate: true, Reason: ReasonMaxIntensity}
	}
	return actor.Decision{Restart: []*actor.Process{crashed}}
}

func (s *OneForOne) String() string { return "one_for_one" }
