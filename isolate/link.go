package isolate

import (
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/dop251/goja"
)

// LinkSpawner is a Signaller that can spawn a child linked to the
// spawner's incarnation, for spawn(args, {link: true}).
type LinkSpawner interface {
	// SpawnLink is Spawn with the child linked to this incarnation before
	// the spawner hears of it: if this incarnation has ended by then, the
	// child is stopped instead.
	SpawnLink(c *capability.Capability, args *mailbox.Envelope) (id uint64, err error)
}

// spawnLinkOption reads spawn's options: {link: true} links the child to
// this incarnation. Anything but an object or undefined throws TypeError.
func (i *Isolate) spawnLinkOption(opts goja.Value) bool {
	if opts == nil || goja.IsUndefined(opts) || goja.IsNull(opts) {
		return false
	}
	o, ok := opts.(*goja.Object)
	if !ok {
		panic(i.newError("TypeError", "spawn: options must be an object, such as {link: true}"))
	}
	v := o.Get("link")
	return v != nil && v.ToBoolean()
}

// spawnOn asks s for a child of c's target, linked to this incarnation
// when link is set.
func (i *Isolate) spawnOn(s Signaller, c *capability.Capability, args *mailbox.Envelope, link bool) (uint64, error) {
	if !link {
		return s.Spawn(c, args)
	}
	ls, ok := s.(LinkSpawner)
	if !ok {
		panic(i.newError("Error", "spawn: {link: true} is not supported by this host"))
	}
	return ls.SpawnLink(c, args)
}
