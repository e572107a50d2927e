package actor_test

import (
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/codec"
)

// The transport lends a node its frames (wire.Borrower): once Deliver
// returns, the frame, its envelope and the message bytes are reused for
// the next frame of the batch. A node that kept any of them would hand
// its processes another message's bytes. Here one frame and one buffer
// carry every call, overwritten as soon as Deliver returns, as the
// transport's Decoder does; each answer must still be its own message,
// short (copied into the delivery's own room) or long (copied apart).
func TestRemote_LentFramesAreCopied(t *testing.T) {
	n, tr := soloNode(t, worker(t, "echo", `export function receive(msg) { return msg; }`))
	tr.up(n, "x", 1)
	_, ref := exported(t, n, "echo")
	var (
		f   wire.Frame
		env wire.Envelope
		buf []byte
	)
	want := map[uint64]string{}
	for i := uint64(1); i <= 40; i++ {
		s := strings.Repeat(string(rune('a'+i%26)), 1+int(i%4)*40) // 1 to 121 bytes
		m, err := codec.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		buf = append(buf[:0], m...)
		env = wire.Envelope{Data: buf}
		f = wire.Frame{Kind: wire.KindCall, ID: i, Depth: 1, To: ref, From: "p", Env: &env}
		n.Deliver("x", &f)
		want[i] = s
		// the transport's next frame reuses all of it
		for k := range buf {
			buf[k] = 0xc1 // never valid msgpack
		}
		f, env = wire.Frame{}, wire.Envelope{}
	}
	for id, s := range want {
		rep := tr.waitSent(t, 0, "no answer to a call", isFrame("x", wire.KindReply, id))
		if rep.Err != nil || rep.Env == nil {
			t.Fatalf("call %d: answered %+v", id, rep.Err)
		}
		var got string
		if err := codec.Unmarshal(rep.Env.Data, &got); err != nil || got != s {
			t.Fatalf("call %d: answered %q (%v), want %q: the node kept bytes of a lent frame", id, got, err, s)
		}
	}
}
