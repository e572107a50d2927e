package capability

import "sync/atomic"

// Target is what a capability designates: a supervised child slot, which
// outlives the incarnations running in it. The actor package implements it.
type Target interface {
	// TargetID is unique within a node and never reused.
	TargetID() uint64
}

// Revoker ends a revocable capability and every capability derived from it.
// Safe for concurrent use.
type Revoker struct{ revoked atomic.Bool }

// Revoke makes every capability behind this revoker fail its checks from now on.
func (r *Revoker) Revoke() { r.revoked.Store(true) }

// Revoked reports whether Revoke was called.
func (r *Revoker) Revoked() bool { return r.revoked.Load() }

// Capability is an unforgeable reference to a target with a set of rights.
// It is immutable; attenuation and revocation make new capabilities.
// Safe for concurrent use.
type Capability struct {
	target   Target
	rights   Rights
	revokers []*Revoker // shared, never appended in place
}

// New returns a capability over t carrying rights.
func New(t Target, rights Rights) *Capability {
	return &Capability{target: t, rights: rights & All}
}

// Target returns what the capability designates.
func (c *Capability) Target() Target { return c.target }

// Rights returns the rights the capability carries.
func (c *Capability) Rights() Rights { return c.rights }

// Revoked reports whether any revoker on the capability's path has fired.
func (c *Capability) Revoked() bool {
	for _, r := range c.revokers {
		if r.Revoked() {
			return true
		}
	}
	return false
}

// Unrevocable reports whether no revoker lies on the capability's path:
// then it is fully described by its target and rights, and two such
// capabilities with equal targets and rights are interchangeable.
func (c *Capability) Unrevocable() bool { return len(c.revokers) == 0 }

// Check is the choke point every operation on another process passes: it
// returns nil if c is live and carries need, or a *DeniedError naming op.
func (c *Capability) Check(need Rights, op string) error {
	if c == nil {
		return &DeniedError{Op: op, Need: need}
	}
	if c.Revoked() {
		return &DeniedError{Op: op, Need: need, Revoked: true}
	}
	if !c.rights.Has(need) {
		return &DeniedError{Op: op, Need: need &^ c.rights}
	}
	return nil
}

// Attenuate returns a capability with the subset rights of c. Asking for a
// right c does not carry is refused, as is attenuating a revoked capability.
func (c *Capability) Attenuate(rights Rights) (*Capability, error) {
	if err := c.Check(rights, "attenuate"); err != nil {
		return nil, err
	}
	return &Capability{target: c.target, rights: rights, revokers: c.revokers}, nil
}

// Revocable returns a forwarder with c's rights and the revoker that ends it.
// Capabilities derived from the forwarder (attenuated, sent on) end with it.
func (c *Capability) Revocable() (*Capability, *Revoker) {
	rv := &Revoker{}
	revs := make([]*Revoker, len(c.revokers), len(c.revokers)+1)
	copy(revs, c.revokers)
	return &Capability{target: c.target, rights: c.rights, revokers: append(revs, rv)}, rv
}
