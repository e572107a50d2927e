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

// spawn asks the host for a child of c's target, reading spawn's options:
// {link: true} links the child to this incarnation.
func (i *Isolate) spawn(c *capability.Capability, args *mailbox.Envelope, opts goja.Value) (uint64, error) {
	link := false
	if opts != nil && !goja.IsUndefined(opts) && !goja.IsNull(opts) {
		o, ok := opts.(*goja.Object)
		if !ok {
			panic(i.newError("TypeError", "spawn: options must be an object, such as {link: true}"))
		}
		if v := o.Get("link"); v != nil {
			link = v.ToBoolean()
		}
	}
	if !link {
		return i.signaller("spawn").Spawn(c, args)
	}
	ls, ok := i.cfg.Host.(LinkSpawner)
	if !ok {
		panic(i.newError("Error", "spawn: {link: true} is not supported by this host"))
	}
	return ls.SpawnLink(c, args)
}
