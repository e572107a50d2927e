// Package capability holds Cloister's authority model as plain data: rights,
// capabilities over process slots, attenuation, revocation and the random
// tokens that name a capability outside a node.
//
// Every operation that affects another process passes through one choke
// point, [Capability.Check]:
//
//	if err := c.Check(capability.Kill, "kill"); err != nil {
//		return err // a *DeniedError: the target is never touched
//	}
//
// The package imports only the standard library.
package capability
