package isolate

import (
	"testing"
	"time"

	"github.com/cloister-rt/cloister/mailbox"
)

// What governance costs a turn, piece by piece: the memory accounting
// (limiter begin/end), the CPU watchdog with its thread clock (arm and
// disarm), and a whole message turn for scale. Run with
//
//	go test -run '^$' -bench 'BenchmarkAcct' -benchtime 200000x ./isolate/
func BenchmarkAcct_Limiter(b *testing.B) {
	i := benchIsolate(b)
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		i.lim.begin()
		_ = i.lim.end(nil)
	}
}

func BenchmarkAcct_Watchdog(b *testing.B) {
	i := benchIsolate(b)
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		i.mu.Lock()
		i.seq++
		seq := i.seq
		i.mu.Unlock()
		i.disarm(i.armWatchdog(seq, 0))
	}
}

func BenchmarkAcct_Turn(b *testing.B) {
	i := benchIsolate(b)
	env := mailbox.NewEnvelope([]byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'i', 'n', 'c'}, nil) // {type: "inc"}
	done := func(Outcome) {}
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		i.Receive(env, false, done)
	}
}

func benchIsolate(b *testing.B) *Isolate {
	s, err := Compile("b.js", []byte(`let n = 0; export function receive(m) { if (m.type === "inc") n++; }`))
	if err != nil {
		b.Fatal(err)
	}
	i, err := New(s, Config{Name: "b", Self: nil, Limits: Limits{CPU: time.Second}, Host: nopHost{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(i.Close)
	return i
}

// BenchmarkAcct_TurnPinned is a message turn on a pinned thread (as a
// worker's mailbox runs them), of an isolate whose turns read the CPU
// clock as they start.
func BenchmarkAcct_TurnPinned(b *testing.B) {
	i := benchIsolate(b)
	i.longTurns.Store(true)
	pin := PinThread()
	defer pin.Unpin()
	i.UsePin(pin)
	env := mailbox.NewEnvelope([]byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'i', 'n', 'c'}, nil) // {type: "inc"}
	done := func(Outcome) {}
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		i.Receive(env, false, done)
	}
}
