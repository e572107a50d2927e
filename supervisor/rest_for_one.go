package supervisor

import (
	"time"

	"github.com/cloister-rt/cloister/actor"
)

// RestForOne restarts the child that crashed and every child started
// after it. It is plain data: more than Intensity restarts within Period
// fail the supervisor. A negative Intensity or a zero Period takes the
// default (DefaultIntensity, DefaultPeriod); an Intensity of 0 allows no
// restart.
type RestForOne struct {
	Intensity int
	Period    time.Duration
}

// NewRestForOne returns a rest_for_one strategy allowing intensity restarts in period.
func NewRestForOne(intensity int, period time.Duration) RestForOne {
	return RestForOne{Intensity: intensity, Period: period}
}

// NewSupervision implements actor.Strategy.
func (s RestForOne) NewSupervision() actor.Supervision {
	return newSupervision(restForOne, s.Intensity, s.Period)
}

func restForOne(children []*actor.Process, crashed *actor.Process) []*actor.Process {
	for i, ch := range children {
		if ch == crashed {
			return children[i:]
		}
	}
	return []*actor.Process{crashed}
}

func (s RestForOne) String() string { return "rest_for_one" }
