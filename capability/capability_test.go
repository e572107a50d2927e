package capability_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/cloister-rt/cloister/capability"
)

// target is a capability.Target for tests.
type target uint64

func (t target) TargetID() uint64 { return uint64(t) }

func TestCapability_New(t *testing.T) {
	c := capability.New(target(7), capability.Send|capability.Kill)
	if got, want := c.Target(), capability.Target(target(7)); got != want {
		t.Errorf("Target() = %v, want %v", got, want)
	}
	if got, want := c.Rights(), capability.Send|capability.Kill; got != want {
		t.Errorf("Rights() = %v, want %v", got, want)
	}
	if c.Revoked() {
		t.Errorf("a new capability is revoked")
	}
	if got, want := capability.New(target(1), ^capability.Rights(0)).Rights(), capability.All; got != want {
		t.Errorf("New with every bit set carries %v, want All (%v)", got, want)
	}
}

func TestCapability_Check(t *testing.T) {
	c := capability.New(target(1), capability.Send|capability.Monitor)
	tests := []struct {
		name     string
		cap      *capability.Capability
		need     capability.Rights
		op       string
		wantNeed capability.Rights // the rights the DeniedError names; 0 for no error
		words    []string          // in the message
	}{
		{"has the right", c, capability.Send, "send", 0, nil},
		{"has both", c, capability.Send | capability.Monitor, "monitor", 0, nil},
		{"needs nothing", c, 0, "noop", 0, nil},
		{"lacks the right", c, capability.Kill, "kill", capability.Kill, []string{"kill", `"kill"`}},
		{"names only what is missing", c, capability.Send | capability.Link, "link", capability.Link, []string{"link", `"link"`}},
		{"lacks several", c, capability.Exit | capability.Kill, "stop", capability.Exit | capability.Kill, []string{"stop", `"exit,kill"`}},
		{"bits beyond All", c, 1 << 12, "odd", 1 << 12, []string{"odd"}},
		{"nil capability", nil, capability.Send, "send", capability.Send, []string{"send", `"send"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cap.Check(tt.need, tt.op)
			if tt.wantNeed == 0 {
				if err != nil {
					t.Fatalf("Check(%v, %q) = %v, want nil", tt.need, tt.op, err)
				}
				return
			}
			var de *capability.DeniedError
			if !errors.As(err, &de) {
				t.Fatalf("Check(%v, %q) = %v, want a *DeniedError", tt.need, tt.op, err)
			}
			if !errors.Is(err, capability.ErrDenied) {
				t.Errorf("errors.Is(%v, ErrDenied) = false", err)
			}
			if errors.Is(err, capability.ErrRevoked) {
				t.Errorf("errors.Is(%v, ErrRevoked) = true for a capability that is not revoked", err)
			}
			if got, want := de.Op, tt.op; got != want {
				t.Errorf("Op = %q, want %q", got, want)
			}
			if got, want := de.Need, tt.wantNeed; got != want {
				t.Errorf("Need = %v, want %v", got, want)
			}
			if de.Revoked {
				t.Errorf("Revoked = true")
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCapability_Attenuate(t *testing.T) {
	c := capability.New(target(1), capability.Send|capability.Monitor|capability.Kill)
	tests := []struct {
		name   string
		rights capability.Rights
		ok     bool
	}{
		{"one right", capability.Send, true},
		{"a subset", capability.Send | capability.Monitor, true},
		{"the same rights", capability.Send | capability.Monitor | capability.Kill, true},
		{"no rights", 0, true},
		{"a right it lacks", capability.Spawn, false},
		{"a superset", capability.Send | capability.Link, false},
		{"everything", capability.All, false},
		{"bits beyond All", capability.Send | 1<<12, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := c.Attenuate(tt.rights)
			if !tt.ok {
				if !errors.Is(err, capability.ErrDenied) {
					t.Fatalf("Attenuate(%v) = %v, %v; want ErrDenied", tt.rights, a, err)
				}
				if a != nil {
					t.Errorf("Attenuate returned a capability with its error")
				}
				var de *capability.DeniedError
				if errors.As(err, &de) && de.Op != "attenuate" {
					t.Errorf("Op = %q, want attenuate", de.Op)
				}
				return
			}
			if err != nil {
				t.Fatalf("Attenuate(%v): %v", tt.rights, err)
			}
			if got, want := a.Rights(), tt.rights; got != want {
				t.Errorf("Rights() = %v, want %v", got, want)
			}
			if got, want := a.Target(), c.Target(); got != want {
				t.Errorf("Target() = %v, want %v", got, want)
			}
			for _, r := range []capability.Rights{capability.Send, capability.Monitor, capability.Kill} {
				if got, want := a.Check(r, "op") == nil, tt.rights.Has(r); got != want {
					t.Errorf("attenuated Check(%v) passes = %v, want %v", r, got, want)
				}
			}
		})
	}
	if got, want := c.Rights(), capability.Send|capability.Monitor|capability.Kill; got != want {
		t.Errorf("attenuating changed the original's rights to %v", got)
	}
	// Attenuating twice can only narrow.
	a, _ := c.Attenuate(capability.Send | capability.Monitor)
	if _, err := a.Attenuate(capability.Kill); !errors.Is(err, capability.ErrDenied) {
		t.Errorf("regaining kill through a second attenuation: %v, want ErrDenied", err)
	}
}

// revoked checks that err is a revocation refusal.
func revoked(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, capability.ErrRevoked) || !errors.Is(err, capability.ErrDenied) {
		t.Errorf("%s: %v, want ErrRevoked and ErrDenied", what, err)
		return
	}
	var de *capability.DeniedError
	if !errors.As(err, &de) || !de.Revoked {
		t.Errorf("%s: %v, want a *DeniedError with Revoked", what, err)
	}
	if !strings.Contains(err.Error(), "revoked") {
		t.Errorf("%s: message %q does not say revoked", what, err)
	}
}

func TestCapability_Revocable(t *testing.T) {
	orig := capability.New(target(1), capability.Send|capability.Monitor)
	fwd, rv := orig.Revocable()
	if got, want := fwd.Rights(), orig.Rights(); got != want {
		t.Errorf("forwarder rights = %v, want %v", got, want)
	}
	if got, want := fwd.Target(), orig.Target(); got != want {
		t.Errorf("forwarder target = %v, want %v", got, want)
	}
	att, err := fwd.Attenuate(capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	inner, innerRv := fwd.Revocable()
	innerAtt, _ := inner.Attenuate(capability.Send)
	other, _ := orig.Revocable() // a second forwarder over the same original
	for name, c := range map[string]*capability.Capability{"forwarder": fwd, "attenuated": att, "inner": inner, "inner attenuated": innerAtt} {
		if err := c.Check(capability.Send, "send"); err != nil {
			t.Errorf("%s before revoke: %v", name, err)
		}
	}

	// Revoking the inner forwarder ends it and what derives from it, nothing above.
	innerRv.Revoke()
	revoked(t, "inner after its revoke", inner.Check(capability.Send, "send"))
	revoked(t, "inner attenuated after inner revoke", innerAtt.Check(capability.Send, "send"))
	if err := fwd.Check(capability.Send, "send"); err != nil {
		t.Errorf("forwarder after the inner revoke: %v", err)
	}

	if rv.Revoked() {
		t.Fatal("Revoked() before Revoke")
	}
	rv.Revoke()
	rv.Revoke() // idempotent
	if !rv.Revoked() {
		t.Fatal("Revoked() after Revoke = false")
	}
	for name, c := range map[string]*capability.Capability{"forwarder": fwd, "attenuated": att, "inner": inner, "inner attenuated": innerAtt} {
		if !c.Revoked() {
			t.Errorf("%s: Revoked() = false", name)
		}
		revoked(t, name, c.Check(capability.Send, "send"))
	}
	_, err = fwd.Attenuate(capability.Send)
	revoked(t, "attenuating the revoked forwarder", err)
	late, _ := fwd.Revocable()
	revoked(t, "a forwarder made from a revoked one", late.Check(capability.Send, "send"))

	for name, c := range map[string]*capability.Capability{"original": orig, "another forwarder": other} {
		if c.Revoked() {
			t.Errorf("%s: Revoked() = true", name)
		}
		if err := c.Check(capability.Send|capability.Monitor, "send"); err != nil {
			t.Errorf("%s after revoke: %v", name, err)
		}
	}
}

// Siblings derived from one forwarder must not share a revoker by
// appending into the same backing array.
func TestCapability_RevocableSiblings(t *testing.T) {
	fwd, _ := capability.New(target(1), capability.Send).Revocable()
	att, _ := fwd.Attenuate(capability.Send)
	var caps []*capability.Capability
	var rvs []*capability.Revoker
	for _, parent := range []*capability.Capability{fwd, fwd, fwd, att, att} {
		c, rv := parent.Revocable()
		caps, rvs = append(caps, c), append(rvs, rv)
	}
	for i, rv := range rvs {
		rv.Revoke()
		for j, c := range caps {
			if got, want := c.Revoked(), j <= i; got != want {
				t.Fatalf("after revoking %d: sibling %d Revoked() = %v, want %v", i, j, got, want)
			}
		}
	}
}

func TestCapability_ConcurrentRevokeAndCheck(t *testing.T) {
	orig := capability.New(target(1), capability.All)
	fwd, rv := orig.Revocable()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < 2000; i++ {
				_ = fwd.Check(capability.Send, "send")
				if a, err := fwd.Attenuate(capability.Send); err == nil {
					_ = a.Check(capability.Send, "send")
				}
				sub, _ := fwd.Revocable()
				_ = sub.Check(capability.Send, "send")
				if err := orig.Check(capability.Send, "send"); err != nil {
					t.Errorf("original failed during a revoke: %v", err)
					return
				}
			}
		}()
	}
	close(start)
	rv.Revoke()
	// From the moment Revoke returns, every check fails.
	revoked(t, "forwarder", fwd.Check(capability.Send, "send"))
	wg.Wait()
	revoked(t, "forwarder after the race", fwd.Check(capability.Send, "send"))
}
