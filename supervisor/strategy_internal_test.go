package supervisor

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
)

// newStrategy builds each strategy by name.
var newStrategy = map[string]func(int, time.Duration) actor.Strategy{
	"one_for_one":  func(i int, p time.Duration) actor.Strategy { return NewOneForOne(i, p) },
	"one_for_all":  func(i int, p time.Duration) actor.Strategy { return NewOneForAll(i, p) },
	"rest_for_one": func(i int, p time.Duration) actor.Strategy { return NewRestForOne(i, p) },
}

// decision is what a supervision decided about one crash.
type decision struct {
	Restart  []*actor.Process
	Escalate bool
}

// testSupervision is a strategy's supervision for one incarnation.
type testSupervision struct{ s *supervision }

func sup(st actor.Strategy) testSupervision {
	return testSupervision{st.NewSupervision().(*supervision)}
}

func (t testSupervision) decide(children []*actor.Process, crashed *actor.Process, now time.Time) decision {
	restart, ok := t.s.decide(children, crashed, now)
	return decision{Restart: restart, Escalate: !ok}
}

// procs returns n distinct process values: decide only compares them.
func procs(n int) []*actor.Process {
	out := make([]*actor.Process, n)
	for i := range out {
		out[i] = &actor.Process{}
	}
	return out
}

func indexes(all, sub []*actor.Process) []int {
	out := []int{}
	for _, p := range sub {
		out = append(out, slices.Index(all, p))
	}
	return out
}

func TestStrategy_String(t *testing.T) {
	for name, mk := range newStrategy {
		if got, want := mk(1, time.Second).String(), name; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestStrategy_Decide(t *testing.T) {
	tests := []struct {
		strategy string
		crashed  int
		want     []int // children restarted, in start order
	}{
		{"one_for_one", 0, []int{0}},
		{"one_for_one", 1, []int{1}},
		{"one_for_one", 3, []int{3}},
		{"one_for_all", 0, []int{0, 1, 2, 3}},
		{"one_for_all", 1, []int{0, 1, 2, 3}},
		{"one_for_all", 3, []int{0, 1, 2, 3}},
		{"rest_for_one", 0, []int{0, 1, 2, 3}},
		{"rest_for_one", 1, []int{1, 2, 3}},
		{"rest_for_one", 3, []int{3}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/crash_%d", tt.strategy, tt.crashed), func(t *testing.T) {
			children := procs(4)
			d := sup(newStrategy[tt.strategy](3, time.Second)).decide(children, children[tt.crashed], time.Now())
			if d.Escalate {
				t.Fatal("escalated on the first crash")
			}
			if got, want := indexes(children, d.Restart), tt.want; !slices.Equal(got, want) {
				t.Errorf("restarts children %v, want %v", got, want)
			}
		})
	}
}

func TestStrategy_DecideUnknownChild(t *testing.T) {
	children, stranger := procs(3), &actor.Process{}
	d := sup(NewRestForOne(3, time.Second)).decide(children, stranger, time.Now())
	if d.Escalate || len(d.Restart) != 1 || d.Restart[0] != stranger {
		t.Errorf("rest_for_one for a child not in the list = %+v, want it alone restarted", d)
	}
}

func TestStrategy_Intensity(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	tests := []struct {
		name      string
		intensity int
		period    time.Duration
		crashes   []time.Time
		escalate  int // index of the first crash that escalates, -1 for none
	}{
		{"at the limit", 3, time.Second, at(0, 100, 200), -1},
		{"one over the limit", 3, time.Second, at(0, 100, 200, 300), 3},
		{"one over, all at once", 2, time.Second, at(0, 0, 0), 2},
		{"old restarts leave the window", 2, time.Second, at(0, 500, 1000, 1500, 2000), -1},
		{"a restart exactly one period old has left", 1, time.Second, at(0, 1000, 2000), -1},
		{"just inside the period still counts", 1, time.Second, at(0, 999), 1},
		{"intensity 0 allows no restart", 0, time.Second, at(0), 0},
		{"negative intensity takes the default", -1, time.Second, at(0, 1, 2, 3), DefaultIntensity},
		{"zero period takes the default", 1, 0, at(0, int(DefaultPeriod/time.Millisecond)-1), 1},
		{"zero period, default period passed", 1, 0, at(0, int(DefaultPeriod/time.Millisecond)), -1},
	}
	for _, tt := range tests {
		for name, mk := range newStrategy {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				s := sup(mk(tt.intensity, tt.period))
				children := procs(3)
				for i, now := range tt.crashes {
					d := s.decide(children, children[1], now)
					if got, want := d.Escalate, i == tt.escalate; got != want {
						t.Fatalf("crash %d at +%v: escalate = %v, want %v", i, now.Sub(t0), got, want)
					}
					if d.Escalate {
						if len(d.Restart) != 0 {
							t.Errorf("escalation also restarts %d children", len(d.Restart))
						}
						return
					}
					if len(d.Restart) == 0 {
						t.Fatalf("crash %d: neither restarts nor escalates", i)
					}
				}
			})
		}
	}
}

func TestStrategy_SupervisionsDoNotShareHistory(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, mk := range newStrategy {
		t.Run(name, func(t *testing.T) {
			spec := mk(1, time.Minute)
			children := procs(2)
			first := sup(spec)
			for i := range 2 {
				d := first.decide(children, children[0], now)
				if got, want := d.Escalate, i == 1; got != want {
					t.Fatalf("first incarnation, crash %d: escalate = %v, want %v", i, got, want)
				}
			}
			// The next incarnation of the same spec starts with no restarts.
			if d := sup(spec).decide(children, children[0], now); d.Escalate {
				t.Fatal("a new supervision inherited the restart history of the one before")
			}
		})
	}
}

func TestStrategy_SpecIsPlainData(t *testing.T) {
	if got, want := NewOneForAll(2, time.Second), (OneForAll{Intensity: 2, Period: time.Second}); got != want {
		t.Errorf("NewOneForAll = %+v, want %+v", got, want)
	}
	// A spec compares equal to a copy however often it was used.
	s := OneForOne{Intensity: 1, Period: time.Minute}
	sup(s).decide(procs(1), procs(1)[0], time.Now())
	if s != (OneForOne{Intensity: 1, Period: time.Minute}) {
		t.Errorf("the spec changed after use: %+v", s)
	}
}
