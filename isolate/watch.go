package isolate

import (
	"github.com/cloister-rt/cloister/capability"

	"github.com/dop251/goja"
)

// SlotMonitor is a Signaller that can monitor a slot rather than one
// incarnation, for cap.monitor({slot: true}).
type SlotMonitor interface {
	// MonitorSlot watches every incarnation of c's target: a down
	// notification (Slot set) when one ends, an up notification when the
	// next one starts, and a last down with Final set when the slot stops
	// for good. A slot between incarnations gets its up when the next
	// starts, not a noproc.
	MonitorSlot(c *capability.Capability) (ref uint64, err error)
}

// monitor asks the host for a monitor on c's target, reading monitor's
// options: {slot: true} watches the slot across its incarnations.
func (i *Isolate) monitor(c *capability.Capability, opts goja.Value) (uint64, error) {
	slot := false
	if opts != nil && !goja.IsUndefined(opts) && !goja.IsNull(opts) {
		o, ok := opts.(*goja.Object)
		if !ok {
			panic(i.newError("TypeError", "monitor: options must be an object, such as {slot: true}"))
		}
		if v := o.Get("slot"); v != nil {
			slot = v.ToBoolean()
		}
	}
	if !slot {
		return i.signaller("monitor").Monitor(c)
	}
	sm, ok := i.cfg.Host.(SlotMonitor)
	if !ok {
		panic(i.newError("Error", "monitor: {slot: true} is not supported by this host"))
	}
	return sm.MonitorSlot(c)
}
