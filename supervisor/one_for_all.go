package supervisor

import (
	"time"

	"github.com/cloister-rt/cloister/actor"
)

// OneForAll restarts every child when one crashes.
type OneForAll struct{ in *intensity }

// NewOneForAll returns a one_for_all strategy allowing intensity restarts in period.
func NewOneForAll(intensity int, period time.Duration) *OneForAll {
	return &OneForAll{in: newIntensity(intensity, period)}
}

// OnCrash implements actor.Strategy.
func (s *OneForAll) OnCrash(children []*actor.Process, _ *actor.Process, now time.Time) actor.Decision {
	if !s.in.add(now) {
		return actor.Decision{Escalate: true, Reason: ReasonMaxIntensity}
	}
	return actor.Decision{Restart: children}
}

func (s *OneForAll) String() string { return "one_for_all" }
