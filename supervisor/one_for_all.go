package supervisor

import (
	"time"

	"github.com/cloister-rt/cloister/actor"
)

// OneForAll restarts every child when one crashes. It is plain data: more
// than Intensity restarts within Period fail the supervisor. A negative
// Intensity or a zero Period takes the default (DefaultIntensity,
// DefaultPeriod); an Intensity of 0 allows no restart.
type OneForAll struct {
	Intensity int
	Period    time.Duration
}

// NewOneForAll returns a one_for_all strategy allowing intensity restarts in period.
func NewOneForAll(intensity int, period time.Duration) OneForAll {
	return OneForAll{Intensity: intensity, Period: period}
}

// NewSupervision implements actor.Strategy.
func (s OneForAll) NewSupervision() actor.Supervision {
	return newSupervision(oneForAll, s.Intensity, s.Period)
}

func oneForAll(children []*actor.Process, _ *actor.Process) []*actor.Process { return children }

func (s OneForAll) String() string { return "one_for_all" }
