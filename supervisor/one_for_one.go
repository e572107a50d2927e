package supervisor

import (
	"time"

	"github.com/cloister-rt/cloister/actor"
)

// OneForOne restarts only the child that crashed. It is plain data: more
// than Intensity restarts within Period fail the supervisor. A negative
// Intensity or a zero Period takes the default (DefaultIntensity,
// DefaultPeriod); an Intensity of 0 allows no restart.
type OneForOne struct {
	Intensity int
	Period    time.Duration
}

// NewOneForOne returns a one_for_one strategy allowing intensity restarts in period.
func NewOneForOne(intensity int, period time.Duration) OneForOne {
	return OneForOne{Intensity: intensity, Period: period}
}

// NewSupervision implements actor.Strategy.
func (s OneForOne) NewSupervision() actor.Supervision {
	return newSupervision(oneForOne, s.Intensity, s.Period)
}

func oneForOne(_ []*actor.Process, crashed *actor.Process) []*actor.Process {
	return []*actor.Process{crashed}
}

func (s OneForOne) String() string { return "one_for_one" }
