package isolate

import (
	"errors"
	"fmt"
	"time"
	"weak"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/dop251/goja"
)

// Signaller is the part of a Host that links, monitors, signals and spawns.
// A host without it makes those operations throw after the right check.
type Signaller interface {
	// Monitor watches c's target and returns a reference; a down
	// notification with it arrives when the target's incarnation ends
	// (at once, reason "noproc", if there is none).
	Monitor(c *capability.Capability) (ref uint64, err error)
	// Demonitor cancels a monitor; it reports whether it was active.
	Demonitor(c *capability.Capability, ref uint64) bool
	// Link links this incarnation with c's target's.
	Link(c *capability.Capability) error
	// Unlink removes a link, if there is one.
	Unlink(c *capability.Capability) error
	// Exit sends c's target an exit signal with reason.
	Exit(c *capability.Capability, reason string) error
	// Kill sends c's target an untrappable kill.
	Kill(c *capability.Capability) error
	// Spawn starts a child of c's target from its template with args; the
	// capability to the child, or the failure, arrives through
	// Isolate.SettleCall with the returned id.
	Spawn(c *capability.Capability, args *mailbox.Envelope) (id uint64, err error)
	// TrapExits sets whether exit signals arrive as notifications and
	// returns the previous setting.
	TrapExits(on bool) bool
	// Inspect asks c's target for the answer of its inspect() export; the
	// answer, or the failure, arrives through Isolate.SettleCall with the
	// returned id.
	Inspect(c *capability.Capability) (id uint64, err error)
}

// DenialReporter is a Host that wants to hear of every capability the
// isolate refused, to count and log it.
type DenialReporter interface {
	Denied(op string, err error)
}

// LimitReporter is a Host that wants to hear of every message refused by
// a size limit, to count it.
type LimitReporter interface {
	LimitHit(limit string, err error)
}

// Notification is a runtime event delivered to receive as a message turn.
type Notification struct {
	Kind   string // "down", "up" or "exit"
	Ref    uint64 // the monitor reference, for down and up
	From   string // the process path the exit signal came from, for exit
	Reason string
	// Slot is set for a slot monitor's notifications (see watch.go): the
	// monitor stays after a down unless Final is set too.
	Slot  bool
	Final bool // the slot has stopped for good: the monitor ends
}

// MaxMonitors bounds the monitors one incarnation holds at once: every
// monitor() past it throws a RangeError naming ErrTooManyMonitors until a
// demonitor or a down notification frees one.
const MaxMonitors = 10_000

// signalState is the isolate's bookkeeping for monitors and notifications.
type signalState struct {
	refs  map[uint64]*goja.Object // live monitor references by id
	ids   map[*goja.Object]uint64
	notes noteSet // the notification objects made here
}

// noteSet holds the notification objects an isolate made, weakly: an
// object the script drops is collected, and its entry goes at a later
// sweep. A set of the host's, not a WeakSet of the runtime's, so a script
// cannot reach it and an isolate that gets no notification pays nothing.
type noteSet struct {
	m       map[weak.Pointer[goja.Object]]struct{}
	sweepAt int // the size at which dead entries are swept next
}

func (s *noteSet) add(o *goja.Object) {
	if s.m == nil {
		s.m = make(map[weak.Pointer[goja.Object]]struct{})
	}
	if len(s.m) >= s.sweepAt {
		for k := range s.m {
			if k.Value() == nil {
				delete(s.m, k)
			}
		}
		s.sweepAt = max(2*len(s.m), 64)
	}
	s.m[weak.Make(o)] = struct{}{}
}

func (s *noteSet) has(o *goja.Object) bool {
	if len(s.m) == 0 {
		return false
	}
	_, ok := s.m[weak.Make(o)]
	return ok
}

// setupSignals makes the isolate's signal bookkeeping.
func (i *Isolate) setupSignals() error {
	i.sig = &signalState{} // its maps are made with the first monitor
	return nil
}

func (i *Isolate) signaller(op string) Signaller {
	s, ok := i.cfg.Host.(Signaller)
	if !ok {
		panic(i.newError("Error", op+": not supported by this host"))
	}
	return s
}

// signalMethod builds the handle methods that act on a process's life.
func (i *Isolate) signalMethod(name string) func(goja.FunctionCall) goja.Value {
	switch name {
	case "monitor":
		return func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.This, capability.Monitor, name)
			// The down notification this monitor will queue is charged
			// now, and refunded when it arrives or is demonitored.
			i.lim.hold(hostNoteBytes)
			if len(i.sig.refs) >= MaxMonitors {
				// Each live monitor is a down notification the host may
				// have to queue: they are bounded like a mailbox.
				i.lim.release(hostNoteBytes)
				i.throw(fmt.Errorf("%w: %d are active, the limit is %d; demonitor some first", ErrTooManyMonitors, len(i.sig.refs), MaxMonitors))
			}
			id, err := i.monitor(c, call.Argument(0))
			if err != nil {
				i.lim.release(hostNoteBytes)
				i.throw(err)
			}
			ref := i.rt.NewObject()
			i.hostObject(ref, "MonitorRef")
			_, _ = i.freeze(goja.Undefined(), ref)
			if i.sig.refs == nil {
				i.sig.refs, i.sig.ids = map[uint64]*goja.Object{}, map[*goja.Object]uint64{}
			}
			i.sig.refs[id] = ref
			i.sig.ids[ref] = id
			return ref
		}
	case "demonitor":
		return func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.This, capability.Monitor, name)
			o, _ := call.Argument(0).(*goja.Object)
			id, ok := i.sig.ids[o]
			if !ok {
				return i.rt.ToValue(false)
			}
			i.forgetRef(id)
			return i.rt.ToValue(i.signaller(name).Demonitor(c, id))
		}
	case "link", "unlink":
		return func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.This, capability.Link, name)
			s := i.signaller(name)
			var err error
			if name == "link" {
				err = s.Link(c)
			} else {
				err = s.Unlink(c)
			}
			if err != nil {
				i.throw(err)
			}
			return goja.Undefined()
		}
	case "exit":
		return func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.This, capability.Exit, name)
			a := call.Argument(0)
			if goja.IsUndefined(a) {
				panic(i.newError("TypeError", "exit: a reason is required"))
			}
			if err := i.signaller(name).Exit(c, truncate(a.String(), 256)); err != nil {
				i.throw(err)
			}
			return goja.Undefined()
		}
	case "kill":
		return func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.This, capability.Kill, name)
			if err := i.signaller(name).Kill(c); err != nil {
				i.throw(err)
			}
			return goja.Undefined()
		}
	case "inspect":
		return func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.This, capability.Inspect, name)
			s := i.signaller(name)
			i.lim.hold(hostTimerBytes)
			id, err := s.Inspect(c)
			p, resolve, reject := i.rt.NewPromise()
			if err != nil {
				i.lim.release(hostTimerBytes)
				_ = reject(i.newError(callErrorName(err), err.Error()))
				return i.rt.ToValue(p)
			}
			i.addCall(id, pendingCall{promise: p, resolve: resolve, reject: reject})
			return i.rt.ToValue(p)
		}
	case "spawn":
		return func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.This, capability.Spawn, name)
			var args *mailbox.Envelope
			if a := call.Argument(0); !goja.IsUndefined(a) {
				env, err := i.encode(a)
				if err != nil {
					i.throw(err)
				}
				args = env
			}
			link := i.spawnLinkOption(call.Argument(1))
			s := i.signaller(name)
			i.lim.hold(hostTimerBytes)
			id, err := i.spawnOn(s, c, args, link)
			if err != nil {
				i.lim.release(hostTimerBytes)
				i.throw(err)
			}
			p, resolve, reject := i.rt.NewPromise()
			i.addCall(id, pendingCall{promise: p, resolve: resolve, reject: reject})
			return i.rt.ToValue(p)
		}
	}
	return nil
}

func (i *Isolate) forgetRef(id uint64) {
	if ref, ok := i.sig.refs[id]; ok {
		delete(i.sig.refs, id)
		delete(i.sig.ids, ref)
		i.lim.release(hostNoteBytes)
	}
}

// hostNoteBytes is what the host keeps for one queued notification: the
// runtime message, the mailbox entry and the notification itself.
const hostNoteBytes = 192

// ctxTrapExits makes ctx.trapExits.
func (i *Isolate) ctxTrapExits() goja.Value {
	return i.fn("trapExits", func(call goja.FunctionCall) goja.Value {
		return i.rt.ToValue(i.signaller("trapExits").TrapExits(call.Argument(0).ToBoolean()))
	})
}

// ctxIsNotification makes ctx.isNotification.
func (i *Isolate) ctxIsNotification() goja.Value {
	return i.fn("isNotification", func(call goja.FunctionCall) goja.Value {
		o, ok := call.Argument(0).(*goja.Object)
		if !ok {
			return i.rt.ToValue(false)
		}
		return i.rt.ToValue(i.sig.notes.has(o))
	})
}

// Notify hands a notification to receive as one turn, the way Receive
// hands a message. done runs exactly once.
func (i *Isolate) Notify(n Notification, done func(Outcome)) {
	i.startTurnWith(i.receive, func() (goja.Value, error) {
		o := i.rt.NewObject()
		_ = o.Set("type", n.Kind)
		switch n.Kind {
		case "down", "up":
			ref, ok := i.sig.refs[n.Ref]
			if !ok {
				return nil, errStaleNote // demonitored meanwhile
			}
			if !n.Slot || n.Final {
				i.forgetRef(n.Ref)
			}
			_ = o.Set("ref", ref)
			if n.Slot {
				_ = o.Set("slot", true)
				_ = o.Set("final", n.Final)
			}
		case "exit":
			_ = o.Set("from", n.From)
		default:
			return nil, fmt.Errorf("unknown notification %q", n.Kind)
		}
		_ = o.Set("reason", n.Reason)
		_, _ = i.freeze(goja.Undefined(), o)
		i.sig.notes.add(o)
		return o, nil
	}, false, done)
}

// errStaleNote marks a notification that no longer applies; its turn is
// skipped rather than run.
var errStaleNote = errors.New("stale notification")

// CapabilityEnvelope is a message holding only c, as a spawn reply.
func CapabilityEnvelope(c *capability.Capability) *mailbox.Envelope {
	// fixext 4 of the capability type: index 0 into the envelope's list.
	data := []byte{0xd6, byte(extCapability), 0, 0, 0, 0}
	return mailbox.NewEnvelope(data, []*capability.Capability{c})
}

// TerminateWithin is Terminate with its time cut to d if d is shorter than
// the CPU limit: a supervisor's shutdown timeout bounds it.
func (i *Isolate) TerminateWithin(reason string, d time.Duration) error {
	if d > 0 && d < i.cfg.Limits.CPU {
		saved := i.cfg.Limits.CPU
		i.cfg.Limits.CPU = d
		defer func() { i.cfg.Limits.CPU = saved }()
	}
	return i.Terminate(reason)
}
