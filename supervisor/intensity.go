package supervisor

import "time"

// Default restart intensity: more than 3 restarts within 5 s fail the supervisor.
const (
	DefaultIntensity = 3
	DefaultPeriod    = 5 * time.Second
)

// ReasonMaxIntensity is the reason a supervisor fails with when its children
// restart too often.
const ReasonMaxIntensity = "reached_max_restart_intensity"

// intensity counts restarts in a sliding window, as OTP's supervisor does.
// A strategy owns one; it is used only on its supervisor's goroutine.
type intensity struct {
	max    int
	period time.Duration
	times  []time.Time
}

func newIntensity(max int, period time.Duration) *intensity {
	if max < 0 {
		max = DefaultIntensity
	}
	if period <= 0 {
		period = DefaultPeriod
	}
	return &intensity{max: max, period: period}
}

// add records a restart at now and reports whether the limit still holds.
func (in *intensity) add(now time.Time) bool {
	keep := in.times[:0]
	for _, t := range in.times {
		if now.Sub(t) < in.period {
			keep = append(keep, t)
		}
	}
	in.times = append(keep, now)
	return len(in.times) <= in.max
}
