package actor_test

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/cloister-rt/cloister/actor"
)

// gcPercent reads the process's GC target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

func TestNewNode_GCPercent(t *testing.T) {
	defer debug.SetGCPercent(gcPercent())
	if v, set := os.LookupEnv("GOGC"); set {
		defer os.Setenv("GOGC", v)
	} else {
		defer os.Unsetenv("GOGC")
	}
	cases := []struct {
		name   string
		env    string // "" leaves GOGC unset
		opt    int
		before int
		want   int
	}{
		// An embedding program's collector is its own: a node made
		// without the option changes nothing.
		{"embedder's setting kept", "", 0, 100, 100},
		{"embedder's tuned setting kept", "", 0, 123, 123},
		{"explicit", "", 250, 100, 250},
		{"negative leaves it alone", "", -1, 123, 123},
		{"cloister run's target", "", actor.DefaultGCPercent, 100, actor.DefaultGCPercent},
		{"an explicit option wins over GOGC", "150", 300, 150, 300},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Unsetenv("GOGC")
			if c.env != "" {
				os.Setenv("GOGC", c.env)
			}
			debug.SetGCPercent(c.before)
			n, err := actor.NewNode(actor.Options{GCPercent: c.opt})
			if err != nil {
				t.Fatal(err)
			}
			_ = n
			if got := gcPercent(); got != c.want {
				t.Errorf("GC percent after NewNode = %d, want %d", got, c.want)
			}
		})
	}
}

func TestNewNode_MemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1) // reads without changing
	defer debug.SetMemoryLimit(before)
	if _, err := actor.NewNode(actor.Options{GCPercent: -1}); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("memory limit after NewNode without MemoryLimit = %d, want it unchanged (%d)", got, before)
	}
	const limit = 3 << 30
	if _, err := actor.NewNode(actor.Options{GCPercent: -1, MemoryLimit: limit}); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("memory limit after NewNode{MemoryLimit: %d} = %d", limit, got)
	}
}

func TestGCPercentFor_OperatorsGOGCWins(t *testing.T) {
	if v, set := os.LookupEnv("GOGC"); set {
		defer os.Setenv("GOGC", v)
	} else {
		defer os.Unsetenv("GOGC")
	}
	os.Unsetenv("GOGC")
	if got := actor.GCPercentFor(actor.DefaultGCPercent); got != actor.DefaultGCPercent {
		t.Errorf("GCPercentFor without GOGC = %d, want %d", got, actor.DefaultGCPercent)
	}
	os.Setenv("GOGC", "150")
	if got := actor.GCPercentFor(actor.DefaultGCPercent); got != 0 {
		t.Errorf("GCPercentFor with GOGC=150 = %d, want 0 (the runtime's setting from GOGC stays)", got)
	}
}
