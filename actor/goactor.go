package actor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	proto "github.com/asynkron/protoactor-go/actor"
)

// Receiver is a Go actor: a process of the tree whose code is Go, trusted,
// and compiled into the embedding program, rather than a tenant's script.
// It lives in the tree like a script: its supervisor starts, stops and
// restarts it under the same strategies and restart types, others reach it
// only through capabilities (granted in the manifest, sent in messages, or
// returned by spawn), and it reaches others the same way, with the same
// rights checks and errors as a script.
//
// Register a factory for it by name in Options.Receivers and name it in a
// ChildSpec's Go field (go: in the manifest). Every incarnation gets a fresh
// Receiver from the factory, so state kept in the Receiver starts anew on
// a restart, as a script's module state does.
//
// Receive is called with one message at a time, in mailbox order, on the
// process's own goroutine; c.Message says what it is: Init first, then
// Message, Down and Exit, and Terminate on an orderly stop. A panic in
// Receive crashes that incarnation with reason "error" (the panic value
// and the Go stack are in the crash report), never the node; its
// supervisor decides what follows. Receive must not keep c or use it from
// another goroutine once it returns.
//
// Receive blocks the process while it runs: a Go actor that calls another
// process waits for the answer, and two processes calling each other wait
// until one call times out, as two OTP servers do. Mailbox limits and
// overflow policies apply as to a script; the CPU, memory and stack limits
// do not, since the code is trusted.
type Receiver interface {
	Receive(c *Context)
}

// ReceiverFunc is a Receiver made of a function.
type ReceiverFunc func(c *Context)

// Receive calls f(c).
func (f ReceiverFunc) Receive(c *Context) { f(c) }

// Init is the first message of every incarnation, as a script's init:
// Context.Decode reads its arguments (the spec's Args, or spawn's), and
// Args is nil when there are none. A panic in it fails the start: at the
// node's start, Start returns the error; for a spawned child, spawn does.
type Init struct{ Args *mailbox.Envelope }

// Message is a message from another process or from Go. Context.Decode
// reads it. When Call is set the sender waits for the answer: give it with
// Context.Reply or Context.Fail; one that Receive returns without giving
// is answered with undefined, as a script's receive that returns nothing.
type Message struct {
	Envelope *mailbox.Envelope
	Call     bool
}

// Down tells a Go actor that a process it monitors has ended, and why
// ("noproc" if it had already ended when the monitor was set).
type Down struct {
	Ref    Ref
	Reason string
}

// Exit is an exit signal that a Go actor trapping exits receives as a
// message: From is the path of the process it came from.
type Exit struct {
	From   string
	Reason string
}

// Terminate is the last message of an incarnation that stops in order
// (shutdown, a normal stop, a restart beside a crashed sibling), as a
// script's terminate. It should return within the child's shutdown time.
type Terminate struct{ Reason string }

// Ref is a monitor reference, named again by Down and Demonitor.
type Ref uint64

// Context is what Receive works with: the message, and the process's
// authority, which is its own capability, the capabilities the manifest
// granted it and those it received. It is valid during Receive only.
type Context struct {
	g        *goWorker
	msg      any
	env      *mailbox.Envelope
	call     *callRef
	answered bool
}

// ErrAnswered is returned by Reply and Fail when the message is not a call,
// or its call has been answered already.
var ErrAnswered = errors.New("no call awaits an answer")

// ErrNotGranted is returned by a Context method given a nil capability,
// such as an Env lookup of a name the manifest does not grant.
var ErrNotGranted = errors.New("no capability")

// Message is the message being handled: Init, Message, Down, Exit or
// Terminate.
func (c *Context) Message() any { return c.msg }

// Envelope is the raw message (Message) or init arguments (Init): msgpack
// bytes and the capabilities they carry; nil for the others.
func (c *Context) Envelope() *mailbox.Envelope { return c.env }

// Decode reads the message (Message) or the init arguments (Init) into
// out, a non-nil pointer, with codec.Decode: structs by msgpack tag,
// time.Time for a Date, []byte for a Uint8Array, *capability.Capability
// for a capability (one of the envelope's), codec.Undefined for undefined
// in an any. No arguments decode as undefined.
func (c *Context) Decode(out any) error {
	env := c.env
	if env == nil {
		env = undefinedEnvelope()
	}
	return codec.Decode(env, out)
}

// IsCall reports whether the sender of the message waits for an answer.
func (c *Context) IsCall() bool { return c.call != nil }

// Reply answers the call with v, which is encoded as Send encodes a
// message. It returns ErrAnswered if there is no call or it has been
// answered; an error encoding v leaves the call unanswered.
func (c *Context) Reply(v any) error {
	if c.call == nil || c.answered {
		return ErrAnswered
	}
	env, err := c.g.encode(v)
	if err != nil {
		return err
	}
	c.answer(&reply{env: env})
	return nil
}

// Fail answers the call with an error: a script's call rejects with an
// Error whose message is err's; a Go caller's Call returns err.
func (c *Context) Fail(err error) error {
	if c.call == nil || c.answered {
		return ErrAnswered
	}
	if err == nil {
		err = errors.New("call failed")
	}
	c.answer(&reply{err: err})
	return nil
}

func (c *Context) answer(r *reply) {
	c.answered = true
	r.incarnation, r.id = c.call.incarnation, c.call.id
	c.g.proc.answer(c.call, r)
}

// Self is a capability to this process with every right.
func (c *Context) Self() *capability.Capability { return capability.New(c.g.proc, capability.All) }

// Env returns the capability the manifest grants under name, and whether
// there is one.
func (c *Context) Env(name string) (*capability.Capability, bool) {
	for _, g := range c.g.proc.grants {
		if g.Name == name {
			return g.Cap, true
		}
	}
	return nil, false
}

// EnvNames lists the names of the granted capabilities, sorted.
func (c *Context) EnvNames() []string {
	names := make(map[string]bool, len(c.g.proc.grants))
	for _, g := range c.g.proc.grants {
		names[g.Name] = true
	}
	return slices.Sorted(maps.Keys(names))
}

// Path is the process's path from the root.
func (c *Context) Path() string { return c.g.proc.path }

// Incarnation counts the incarnations of this process, from 1.
func (c *Context) Incarnation() uint64 { return c.g.inc }

// Log is the node's logger, tagged with the process.
func (c *Context) Log() *slog.Logger {
	return c.g.proc.node.log.With(keyProcess, c.g.proc.path, keyIncarnation, c.g.inc)
}

// Send delivers msg to to's target without waiting; it needs the send
// right. msg is encoded with codec.Encode, capabilities in it transferred
// to the receiver, under the node's message_bytes limit.
func (c *Context) Send(to *capability.Capability, msg any) error {
	if err := c.g.check(to, capability.Send, "send"); err != nil {
		return err
	}
	env, err := c.g.encode(msg)
	if err != nil {
		return err
	}
	return c.g.sent(c.g.proc.node.signal(to, capability.Send, "send", &deliver{env: env, from: c.g.proc}))
}

// Call delivers msg to to's target as a call and waits for the answer,
// which it decodes into out with codec.Decode (nil discards it). It needs
// the send right. It waits until ctx ends, and no longer than
// isolate.DefaultCallTimeout if ctx has no deadline. It fails with
// isolate.ErrCalleeCrashed if the callee crashes handling it,
// isolate.ErrNoProc if the callee has ended, isolate.ErrCallTimeout, or
// the error the callee answered with.
func (c *Context) Call(ctx context.Context, to *capability.Capability, msg any, out any) error {
	g := c.g
	if err := g.check(to, capability.Send, "call"); err != nil {
		return err
	}
	depth := 1
	if c.call != nil {
		depth = c.call.depth + 1
	}
	if max := g.proc.node.maxCallDepth; depth > max {
		err := fmt.Errorf("%w: this call would be %d deep in a chain of calls; the limit is %d", isolate.ErrCallDepth, depth, max)
		g.proc.node.emit(LimitHit{Path: g.proc.path, Limit: "call_depth", Err: err})
		return err
	}
	env, err := g.encode(msg)
	if err != nil {
		return err
	}
	ch := make(chan *reply, 1)
	g.nextID++
	d := &deliver{env: env, from: g.proc, call: &callRef{depth: depth, answer: func(r *reply) { ch <- r }, incarnation: g.inc, id: g.nextID}}
	if err := g.sent(g.proc.node.signal(to, capability.Send, "call", d)); err != nil {
		return err
	}
	r, err := await(ctx, ch, isolate.DefaultCallTimeout, "call")
	if err != nil {
		return err
	}
	if r.err != nil {
		return r.err
	}
	if out == nil {
		return nil
	}
	if r.env == nil {
		return errors.New("call: no reply")
	}
	if err := codec.Decode(r.env, out); err != nil {
		return fmt.Errorf("call: answer: %w", err)
	}
	return nil
}

// await waits for r, ctx's end, or timeout if ctx has no deadline.
func await(ctx context.Context, ch <-chan *reply, timeout time.Duration, op string) (*reply, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: %s", isolate.ErrCallTimeout, op)
		}
		return nil, fmt.Errorf("%s: %w", op, ctx.Err())
	}
}

// Spawn asks the template supervisor that sup designates for a new child
// with args (encoded as Send encodes; nil for none) and returns a
// capability to it with every right but spawn, once its init has run. It
// needs the spawn right. It waits as Call does.
func (c *Context) Spawn(ctx context.Context, sup *capability.Capability, args any) (*capability.Capability, error) {
	g := c.g
	if err := g.check(sup, capability.Spawn, "spawn"); err != nil {
		return nil, err
	}
	if rp := remoteOf(sup); rp != nil {
		return c.spawnRemote(ctx, rp, sup, args)
	}
	t, err := g.proc.node.target(sup, capability.Spawn, "spawn")
	if err != nil {
		return nil, err
	}
	if t.kind != KindSupervisor || t.spec.Template == nil {
		return nil, fmt.Errorf("spawn: %s has no template", t.path)
	}
	var env *mailbox.Envelope
	if args != nil {
		if env, err = g.encode(args); err != nil {
			return nil, err
		}
	}
	ch := make(chan *reply, 1)
	t.tell(&spawnReq{args: env, from: g.proc, inc: g.inc, then: func(r *reply) { ch <- r }})
	r, err := await(ctx, ch, spawnTimeout(t.spec.Template), "spawn")
	if err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.env == nil || len(r.env.Caps()) != 1 {
		return nil, fmt.Errorf("spawn: no capability in the answer")
	}
	return r.env.Caps()[0], nil
}

// Monitor watches to's target: a Down with the returned reference arrives
// when its running incarnation ends (at once, reason "noproc", if none
// runs). It needs the monitor right.
func (c *Context) Monitor(to *capability.Capability) (Ref, error) {
	g := c.g
	if err := g.check(to, capability.Monitor, "monitor"); err != nil {
		return 0, err
	}
	if rp := remoteOf(to); rp != nil {
		return c.monitorRemote(rp, to)
	}
	t, err := g.proc.node.target(to, capability.Monitor, "monitor")
	var ref uint64
	switch {
	case errors.Is(err, isolate.ErrNoProc):
		// Monitoring what is gone yields a down with noproc, not an error.
		ref = g.proc.node.nextRef.Add(1)
		g.proc.tell(&downNote{inc: g.inc, ref: ref, reason: ReasonNoProc})
	case err != nil:
		return 0, err
	default:
		if ref, err = t.monitor(g.proc, g.inc); err != nil {
			return 0, err
		}
	}
	g.refs[Ref(ref)] = struct{}{}
	return Ref(ref), nil
}

// Demonitor cancels a monitor set through to, so that its Down does not
// arrive; it reports whether the monitor was active. It needs the monitor
// right.
func (c *Context) Demonitor(to *capability.Capability, ref Ref) (bool, error) {
	g := c.g
	if err := g.check(to, capability.Monitor, "demonitor"); err != nil {
		return false, err
	}
	if _, ok := g.refs[ref]; !ok {
		return false, nil
	}
	delete(g.refs, ref)
	if remoteOf(to) != nil {
		return g.proc.node.remote.demonitor(uint64(ref), g.proc), nil
	}
	t, err := g.proc.node.target(to, capability.Monitor, "demonitor")
	if err != nil {
		return false, nil
	}
	return t.demonitor(uint64(ref)), nil
}

// Link links this incarnation with to's target's running one: when either
// ends abnormally the other receives an exit signal. Linking to a process
// that has ended sends this one an exit signal with reason "noproc". It
// needs the link right.
func (c *Context) Link(to *capability.Capability) error {
	g := c.g
	if err := g.check(to, capability.Link, "link"); err != nil {
		return err
	}
	if rp := remoteOf(to); rp != nil {
		return c.linkRemote(rp, to)
	}
	t, err := g.proc.node.target(to, capability.Link, "link")
	if errors.Is(err, isolate.ErrNoProc) {
		from := ""
		if p, ok := to.Target().(*Process); ok {
			from = p.path
		}
		g.proc.tell(&exitSignal{inc: g.inc, from: from, reason: ReasonNoProc, linked: true})
		return nil
	}
	if err != nil {
		return err
	}
	if t.kind != KindWorker {
		return fmt.Errorf("link: %w", errNotWorker)
	}
	g.proc.link(g.inc, t)
	return nil
}

// Unlink removes a link with to's target, if there is one. It needs the
// link right.
func (c *Context) Unlink(to *capability.Capability) error {
	g := c.g
	if err := g.check(to, capability.Link, "unlink"); err != nil {
		return err
	}
	if rp := remoteOf(to); rp != nil {
		g.proc.node.remote.unlink(rp, g.proc)
		return nil
	}
	t, err := g.proc.node.target(to, capability.Link, "unlink")
	if errors.Is(err, isolate.ErrNoProc) {
		return nil
	}
	if err != nil {
		return err
	}
	g.proc.unlink(t)
	return nil
}

// Exit sends to's target an exit signal with reason, which it may trap.
// It needs the exit right.
func (c *Context) Exit(to *capability.Capability, reason string) error {
	if reason == "" {
		return errors.New("exit: a reason is required")
	}
	return c.g.signalExit(to, capability.Exit, "exit", &exitSignal{from: c.g.proc.path, reason: truncate(reason, 256)})
}

// Kill ends to's target's running incarnation with reason "killed",
// untrappably. It needs the kill right.
func (c *Context) Kill(to *capability.Capability) error {
	return c.g.signalExit(to, capability.Kill, "kill", &exitSignal{from: c.g.proc.path, reason: ReasonKilled, kill: true})
}

// TrapExits sets whether exit signals (other than kill) arrive as Exit
// messages instead of ending this incarnation, and returns the previous
// setting. It holds for this incarnation.
func (c *Context) TrapExits(on bool) bool {
	old := c.g.trapExits
	c.g.trapExits = on
	return old
}

// Stop ends this incarnation with reason ("normal" if empty) once Receive
// returns, as a script's ctx.stop: a normal stop of a permanent child is
// followed by a restart, any other reason is an abnormal exit
// ("exit:<reason>") that its supervisor handles.
func (c *Context) Stop(reason string) {
	if reason == "" {
		reason = ReasonNormal
	}
	if c.g.stopping == "" {
		c.g.stopping = truncate(reason, 256)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// setReceivers copies the Go actor factories at NewNode.
func (n *Node) setReceivers(rs map[string]func() Receiver) error {
	n.receivers = make(map[string]func() Receiver, len(rs))
	for name, f := range rs {
		if name == "" || f == nil {
			return fmt.Errorf("receiver %q: needs a name and a factory", name)
		}
		n.receivers[name] = f
	}
	return nil
}

// checkCode checks that a worker spec names exactly one of a script and a
// registered Go receiver.
func (n *Node) checkCode(s ChildSpec) error {
	switch {
	case s.Script != nil && s.Go != "":
		return fmt.Errorf("names both a script and the Go receiver %q; a worker runs one", s.Go)
	case s.Go != "":
		if _, ok := n.receivers[s.Go]; !ok {
			return fmt.Errorf("no Go receiver %q is registered (the embedding program registers Go actors in actor.Options.Receivers)", s.Go)
		}
	case s.Script == nil:
		return errors.New("no script and no Go receiver")
	}
	return nil
}

// Receiver names the Go receiver a Go actor runs, or "" for a script or a
// supervisor.
func (p *Process) Receiver() string { return p.spec.Go }

// goWorker is one incarnation of a Go actor bound to a protoactor actor.
// As with a script's worker, protoactor recreates it on every restart in
// place, keeping the mailbox.
type goWorker struct {
	proc      *Process
	inc       uint64
	recv      Receiver
	started   bool
	stopping  string // set by Context.Stop
	endReason string // why the incarnation ended, once it has
	trapExits bool
	nextID    uint64
	refs      map[Ref]struct{} // this incarnation's live monitors
	readyFor  *readyWait       // the supervisor's wait for this incarnation's Init, if any
}

func newGoWorker(p *Process) proto.Actor {
	return &goWorker{proc: p, refs: make(map[Ref]struct{})}
}

// Receive implements proto.Actor. A crash panics with a *Crash, which
// protoactor's mailbox recovers and hands to the supervisor.
func (g *goWorker) Receive(c proto.Context) {
	p := g.proc
	switch m := c.Message().(type) {
	case *proto.Started:
		p.pid.Store(c.Self())
		if p.retired() {
			p.signalReady(nil)
			return
		}
		g.start()
	case *deliver:
		g.deliver(m)
	case *initTimeout:
		// The supervisor stopped waiting for this incarnation's Init (its
		// start timeout passed) and failed the start: the incarnation it
		// gave up on must not live on. Go code is not interrupted, so this
		// arrives once Init has returned.
		if m.wait != nil && m.wait == g.readyFor {
			g.readyFor = nil
			g.crashWith(g.newCrash(nil, ReasonKilled, m.err))
		}
	case *exitSignal:
		g.onExit(m)
	case *downNote:
		if _, ok := g.refs[Ref(m.ref)]; !ok || m.inc != g.inc {
			return // demonitored, or for an incarnation that has ended
		}
		delete(g.refs, Ref(m.ref))
		p.handled.Add(1)
		g.turn(&Context{g: g, msg: Down{Ref: Ref(m.ref), Reason: m.reason}}, nil)
	case *proto.Stopping:
		p.setStatus(StatusStopping)
		reason := g.stopping
		if reason == "" {
			reason = ReasonShutdown
		}
		g.end(p.stopStep, reason)
		return
	case *proto.Restarting:
		reason := ""
		if g.endReason == "" && p.endHint.Load() == nil {
			reason = ReasonShutdown // restarted beside a crashed sibling, or by the operator
		}
		g.end(p.restartStep, reason)
		return
	case *proto.Stopped:
		p.setStatus(StatusStopped)
		defer p.signalStopped()
		p.stoppedStep(g.inc, "retiring", p.retire) // a pending call's answer
		reason := g.stopping
		if reason == "" {
			reason = g.endReason
		}
		if reason == "" {
			reason = ReasonShutdown
		}
		p.node.emit(Stopped{Path: p.path, Reason: reason})
		return
	case *inspectRequest:
		err := fmt.Errorf("%w: %s is a Go actor", ErrNoInspect, p.path)
		if m.then != nil {
			m.then(nil, err)
		} else {
			m.answer <- inspectAnswer{err: err}
		}
		return
	default:
		return
	}
	if g.stopping != "" {
		g.exit(c)
	}
}

// start makes a fresh Receiver and hands it Init: the first turn.
func (g *goWorker) start() {
	p := g.proc
	g.readyFor = p.ready.Load()
	g.inc = p.incarnation.Add(1)
	p.endHint.Store(nil)
	if g.inc > 1 {
		p.restarts.Add(1)
		p.setStatus(StatusRestarting)
	}
	recv, cr := g.make()
	if cr != nil {
		p.signalReady(cr)
		g.crashWith(cr)
	}
	g.recv = recv
	g.started = true
	p.begin(g.inc)
	p.setStatus(StatusRunning)
	p.node.emit(Started{Path: p.path, Incarnation: g.inc})
	args := p.initArgs
	if args == nil && p.spec.Args != nil {
		args = mailbox.NewEnvelope(p.spec.Args, nil)
	}
	c := &Context{g: g, msg: Init{Args: args}, env: args}
	if cr := g.run(c); cr != nil {
		p.signalReady(cr)
		g.crashWith(cr)
	}
	p.signalReady(nil)
}

// make calls the factory; a panic in it, or a nil Receiver, crashes the
// incarnation.
func (g *goWorker) make() (r Receiver, cr *Crash) {
	f := g.proc.node.receivers[g.proc.spec.Go]
	defer func() {
		if v := recover(); v != nil {
			cr = g.panicCrash(v, nil)
		}
	}()
	if r = f(); r == nil {
		return nil, g.newCrash(nil, "error", fmt.Errorf("the factory of Go receiver %q returned nil", g.proc.spec.Go))
	}
	return r, nil
}

// deliver runs one message's turn, or drops it under drop_oldest.
func (g *goWorker) deliver(d *deliver) {
	p := g.proc
	if p.mb.Limits().Overflow == mailbox.DropOldest && p.mb.Over() {
		// A Go actor takes its messages one at a time, so the oldest that
		// has reached it is this one; those behind it are newer.
		p.mb.Drop(d.size, d.from.mailbox())
		p.node.emit(LimitHit{Path: p.path, Limit: "mailbox", Err: fmt.Errorf("%w: dropped the oldest message (drop_oldest)", isolate.ErrMailboxFull)})
		if d.call != nil {
			p.answer(d.call, &reply{incarnation: d.call.incarnation, id: d.call.id,
				err: fmt.Errorf("%w: dropped from %s by drop_oldest", isolate.ErrMailboxFull, p.path)})
		}
		return
	}
	p.release(d)
	p.handled.Add(1)
	c := &Context{g: g, msg: Message{Envelope: d.env, Call: d.call != nil}, env: d.env, call: d.call}
	if o := p.node.observerOf(); o != nil {
		start := time.Now()
		defer func() { o.Handled(p, time.Since(start)) }()
	}
	g.turn(c, d)
}

// turn runs Receive on c and ends the incarnation if it panicked. A call
// left unanswered is answered: with undefined, or after a panic with
// isolate.ErrCalleeCrashed.
func (g *goWorker) turn(c *Context, d *deliver) {
	if g.recv == nil {
		// Stopped by the operator before it started: nothing runs.
		if c.call != nil {
			c.answer(&reply{err: fmt.Errorf("%w: %s stopped", isolate.ErrNoProc, g.proc.path)})
		}
		return
	}
	cr := g.run(c)
	if c.call != nil && !c.answered {
		r := &reply{env: undefinedEnvelope()}
		if cr != nil {
			r = &reply{err: fmt.Errorf("%w: %s", isolate.ErrCalleeCrashed, cr.Reason)}
		}
		c.answer(r)
	}
	if cr != nil {
		if d != nil && d.env != nil {
			cr.Message, cr.MessageCaps = d.env.Data(), d.env.Caps()
		}
		g.crashWith(cr)
	}
}

// undefinedEnvelope is a message holding JS undefined.
func undefinedEnvelope() *mailbox.Envelope {
	return mailbox.NewEnvelope([]byte{0xc7, codec.UndefinedLen, byte(codec.ExtUndefined)}, nil)
}

// run calls Receive and recovers a panic into a crash report.
func (g *goWorker) run(c *Context) (cr *Crash) {
	defer func() {
		if v := recover(); v != nil {
			cr = g.panicCrash(v, c)
		}
	}()
	g.recv.Receive(c)
	return nil
}

// maxGoStack bounds the Go stack kept in a crash report.
const maxGoStack = 16 << 10

func (g *goWorker) panicCrash(v any, c *Context) *Crash {
	err, ok := v.(error)
	if ok {
		err = fmt.Errorf("go panic: %w", err)
	} else {
		err = fmt.Errorf("go panic: %v", v)
	}
	cr := g.newCrash(c, "error", err)
	cr.Stack = truncate(string(debug.Stack()), maxGoStack)
	return cr
}

func (g *goWorker) newCrash(c *Context, reason string, err error) *Crash {
	cr := &Crash{Path: g.proc.path, Incarnation: g.inc, Reason: reason, Err: err, Time: time.Now()}
	if c != nil && c.env != nil {
		if _, ok := c.msg.(Message); ok {
			cr.Message, cr.MessageCaps = c.env.Data(), c.env.Caps()
		}
	}
	return cr
}

// crashWith ends the incarnation: protoactor recovers the panic and hands
// the crash to the supervisor.
func (g *goWorker) crashWith(cr *Crash) {
	if g.endReason == "" {
		g.endReason = cr.Reason
	}
	panic(cr)
}

// exit ends the incarnation after Context.Stop, as a script's ctx.stop.
func (g *goWorker) exit(c proto.Context) {
	reason := g.stopping
	if IsNormal(reason) {
		if g.proc.restartType() == Permanent {
			// OTP restarts a permanent child however it ends.
			g.stopping = ""
			g.crashWith(g.newCrash(nil, reason, fmt.Errorf("stopped with reason %q", reason)))
		}
		g.proc.setStatus(StatusStopping)
		c.Stop(c.Self())
		return
	}
	g.stopping = ""
	g.crashWith(g.newCrash(nil, "exit:"+reason, fmt.Errorf("stopped with reason %q", reason)))
}

// onExit handles an exit signal as a script's worker does; a trapped one
// is handed to Receive as an Exit.
func (g *goWorker) onExit(m *exitSignal) {
	if m.counted {
		g.proc.signals.Add(-1)
	}
	if m.inc != 0 && m.inc != g.inc {
		return // meant for an incarnation that has already ended
	}
	switch {
	case m.kill:
		g.crashWith(g.newCrash(nil, ReasonKilled, fmt.Errorf("killed by %s", m.from)))
	case g.trapExits:
		g.proc.handled.Add(1)
		g.turn(&Context{g: g, msg: Exit{From: m.from, Reason: m.reason}}, nil)
	case IsNormal(m.reason):
		// A normal exit signal does not take a process down.
	case m.linked:
		g.crashWith(g.newCrash(nil, ReasonLinked, fmt.Errorf("linked process %s exited: %s", m.from, m.reason)))
	default:
		g.crashWith(g.newCrash(nil, "exit:"+m.reason, fmt.Errorf("exit signal from %s: %s", m.from, m.reason)))
	}
}

// terminate hands Terminate to the Receiver on an orderly end. A panic in
// it is logged; the end goes on.
func (g *goWorker) terminate(reason string) {
	if g.recv == nil || !g.started || g.endReason != "" {
		return
	}
	if cr := g.run(&Context{g: g, msg: Terminate{Reason: reason}}); cr != nil {
		g.proc.node.log.Warn("terminate failed", keyProcess, g.proc.path, keyError, cr.Err)
	}
}

// end runs terminate with reason, unless reason is empty, and closes the
// incarnation, each as a step of the stop or restart under way (see
// endSteps; Terminate's own panics are recovered by run).
func (g *goWorker) end(step endStepFunc, reason string) {
	terminate := func() { g.terminate(reason) }
	if reason == "" {
		terminate = nil
	}
	g.proc.endSteps(step, g.inc, terminate, []func(){g.close}, &g.endReason, nil)
}

// close ends the incarnation: monitors fire and links carry the reason.
func (g *goWorker) close() {
	g.recv = nil
	g.proc.end(g.inc, g.endOr(ReasonShutdown))
}

// endOr is why the incarnation ends: its crash reason, an operator's kill,
// its Stop reason, or def.
func (g *goWorker) endOr(def string) string {
	if g.endReason == "" {
		if h := g.proc.endHint.Swap(nil); h != nil {
			g.endReason = *h
		}
	}
	switch {
	case g.endReason != "":
		return g.endReason
	case g.stopping != "":
		return g.stopping
	}
	return def
}

// check is the Go actor's own rights check, as a script's isolate makes
// before the node's: a refusal is counted for this process.
func (g *goWorker) check(c *capability.Capability, need capability.Rights, op string) error {
	if c == nil {
		return fmt.Errorf("%s: %w", op, ErrNotGranted)
	}
	if err := c.Check(need, op); err != nil {
		g.proc.node.emit(Denied{Op: op, Err: err, Path: g.proc.path})
		return err
	}
	return nil
}

// encode encodes a message under the process's message_bytes limit.
func (g *goWorker) encode(v any) (*mailbox.Envelope, error) {
	env, err := codec.Encode(v)
	if err != nil {
		return nil, err
	}
	if max := g.proc.node.limitsFor(g.proc.spec.Limits).MessageBytes; len(env.Data()) > max {
		err := fmt.Errorf("%w: the message is %d bytes; the limit is %d", ErrMessageTooLarge, len(env.Data()), max)
		g.proc.node.emit(LimitHit{Path: g.proc.path, Limit: "message_bytes", Err: err})
		return nil, err
	}
	return env, nil
}

// ErrMessageTooLarge is a message from a Go actor over its message_bytes
// limit.
var ErrMessageTooLarge = errors.New("message too large")

// sent tells the observer about a delivered message and returns err.
func (g *goWorker) sent(err error) error {
	if err == nil {
		if o := g.proc.node.observerOf(); o != nil {
			o.Sent(g.proc)
		}
	}
	return err
}

// signalExit sends an exit or kill signal, bounded as a script's are.
func (g *goWorker) signalExit(c *capability.Capability, need capability.Rights, op string, s *exitSignal) error {
	if err := g.check(c, need, op); err != nil {
		return err
	}
	return g.proc.node.signalExit(c, need, op, s)
}
