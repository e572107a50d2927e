package isolate

// A run is a series of turns the host starts back to back, with nothing
// else between them on the isolate's goroutine: the messages that were
// queued for a process when its worker got to them. Inside a run every
// turn is still a turn of its own: it has its own number (so an interrupt
// meant for one never reaches the next), its own CPU limit, counted from
// its own start, its own memory accounting (the limiter's begin and end,
// with the end's check of the isolate's memory), its own protection
// against panics, and its own outcome. What the turns of a run share is
// what only the host's goroutine needs:
//   - the thread: the goroutine is locked to its thread, and the thread's
//     CPU clock found, once for the run, not once per turn;
//   - the VM buffers (vmreuse.go): lent before every turn, since goja
//     drops them as each outermost call returns, but cleared once, as the
//     run ends, so a turn's values stay in them until then;
//   - the number of the next turn, taken when the one before ends, so a
//     turn takes the isolate's lock twice, not three times;
//   - the watchdog's timer, which turns close together share anyway
//     (armWatchdog), is stopped, outside a pinned mailbox run, only when
//     the run ends.
//
// A run ends with EndRun, and before any other call into the isolate
// that is not a turn of the run would lend the VM buffers or arm the
// watchdog differently: Close ends it.

// maxRun bounds the turns of one run: after this many, EndRun and
// BeginRun again. It bounds how long a turn's values stay in the VM
// buffers, not fairness, which the mailbox's run decides.
const maxRun = 64

// BeginRun opens a run: the turns that follow, until EndRun, share the
// thread, its clock and the VM buffers (see above). It does nothing if a
// run is open, a turn is waiting for its promise (a run is a series of
// turns that end), or the isolate is closed. The caller must call EndRun
// on every path, a panic's too.
func (i *Isolate) BeginRun() {
	if i.runTurns != 0 || i.turn != nil || i.closed || i.armed != 0 {
		return
	}
	var clock threadClock
	var clocked bool
	if i.pin != nil {
		clock, clocked = i.pin.turnClock()
	} else {
		clock, clocked = startThreadClock()
	}
	i.mu.Lock()
	i.clock = clock // the watchdog reads it under mu; armed is 0
	i.mu.Unlock()
	i.runTurns, i.runClocked, i.runNext = 1, clocked, false
}

// EndRun ends the open run, if any: the VM buffers are cleared, the
// thread is unlocked and, outside a pinned mailbox run, the watchdog's
// timer is stopped. Safe to call when no run is open.
func (i *Isolate) EndRun() {
	if i.runTurns == 0 {
		return
	}
	clocked := i.runClocked
	i.runTurns, i.runClocked, i.runNext = 0, false, false
	i.reclaimVM()
	if i.pin == nil {
		i.mu.Lock()
		if i.watchSet {
			i.watch.Stop()
			i.watchSet = false
		}
		i.mu.Unlock()
	}
	if clocked {
		i.clock.stop()
	}
}

// RunFull reports whether the open run has had maxRun turns: the caller
// ends it, and may begin another.
func (i *Isolate) RunFull() bool { return int(i.runTurns) > maxRun }

// InRun reports whether a run is open.
func (i *Isolate) InRun() bool { return i.runTurns != 0 }
