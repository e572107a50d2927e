package pretouch

import (
	"runtime"
	"slices"
	"testing"
)

func TestLazyFree_ReadsGODEBUG(t *testing.T) {
	for _, c := range []struct {
		env        string
		free, name bool
	}{
		{"", false, false},
		{"gctrace=1", false, false},
		{"madvdontneed=0", true, true},
		{"madvdontneed=1", false, true},
		{"gctrace=1,madvdontneed=0", true, true},
		{"madvdontneed=0,madvdontneed=1", false, true}, // the last setting wins
		{"xmadvdontneed=0", false, false},
	} {
		if got, want := lazyFree(c.env), c.free && runtime.GOOS == "linux"; got != want {
			t.Errorf("lazyFree(%q) = %v, want %v", c.env, got, want)
		}
		if got := namesMadvdontneed(c.env); got != c.name {
			t.Errorf("namesMadvdontneed(%q) = %v, want %v", c.env, got, c.name)
		}
	}
}

func TestWithLazyFree_KeepsTheRest(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"A=1"}, []string{"A=1", "GODEBUG=madvdontneed=0"}},
		{[]string{"GODEBUG=", "A=1"}, []string{"GODEBUG=madvdontneed=0", "A=1"}},
		{[]string{"GODEBUG=gctrace=1", "A=1"}, []string{"GODEBUG=gctrace=1,madvdontneed=0", "A=1"}},
		{[]string{"GODEBUG=gctrace=1", "GODEBUG=x=2"}, []string{"GODEBUG=gctrace=1,madvdontneed=0"}},
	} {
		if got := withLazyFree(c.in); !slices.Equal(got, c.want) {
			t.Errorf("withLazyFree(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestGodebugValue_LastWins(t *testing.T) {
	for _, c := range []struct{ env, key, want string }{
		{"", "disablethp", ""},
		{"disablethp=1", "disablethp", "1"},
		{"disablethp=1,gctrace=1,disablethp=0", "disablethp", "0"},
		{"xdisablethp=1", "disablethp", ""},
	} {
		if got := godebugValue(c.env, c.key); got != c.want {
			t.Errorf("godebugValue(%q, %q) = %q, want %q", c.env, c.key, got, c.want)
		}
	}
}
