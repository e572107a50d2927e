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

// limits returns the effective intensity and period of a strategy's
// fields: a negative intensity or a period of zero or less takes the
// default.
func limits(intensity int, period time.Duration) (int, time.Duration) {
	if intensity < 0 {
		intensity = DefaultIntensity
	}
	if period <= 0 {
		period = DefaultPeriod
	}
	return intensity, period
}

// window counts the restarts of one supervisor incarnation in a sliding
// period, as OTP's supervisor does. It is runtime state: a supervision owns
// one, used only on its supervisor's goroutine, and a restarted supervisor
// gets a new one.
type window struct {
	max    int
	period time.Duration
	times  []time.Time // restarts within the period, oldest first; at most max+1
}

func newWindow(intensity int, period time.Duration) *window {
	max, period := limits(intensity, period)
	return &window{max: max, period: period}
}

// add records a restart at now and reports whether the limit still holds.
func (w *window) add(now time.Time) bool {
	keep := w.times[:0]
	for _, t := range w.times {
		if now.Sub(t) < w.period {
			keep = append(keep, t)
		}
	}
	w.times = append(keep, now)
	return len(w.times) <= w.max
}
