package actor

import "github.com/cloister-rt/cloister/isolate"

// LiveIsolate exposes the running incarnation's isolate to the black-box
// tests that check a dead one can be collected.
func LiveIsolate(p *Process) *isolate.Isolate { return p.liveIso.Load() }
