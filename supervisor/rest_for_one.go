package supervisor

import (
	"time"

	"github.com/cloister-rt/cloister/actor"
)

// RestForOne restarts the child that crashed and every child started after it.
type RestForOne struct{ in *intensity }

// NewRestForOne returns a rest_for_one strategy allowing intensity restarts in period.
func NewRestForOne(intensity int, period time.Duration) *RestForOne {
	return &RestForOne{in: newIntensity(intensity, period)}
}

// OnCrash implements actor.Strategy.
func (s *RestForOne) OnCrash(children []*actor.Process, crashed *actor.Process, now time.Time) actor.Decision {
	if !s.in.add(now) {
		return actor.Decision{Escalate: true, Reason: ReasonMaxIntensity}
	}
	for i, ch := range children {
		if ch == crashed {
			return actor.Decision{Restart: children[i:]}
		}
	}
	return actor.Decision{Restart: []*actor.Process{crashed}}
}

func (s *RestForOne) String() string { return "rest_for_one" }
