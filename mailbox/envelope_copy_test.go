package mailbox_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
)

type capTarget struct{}

func (capTarget) TargetID() uint64 { return 7 }

// CopyEnvelope must own its bytes whatever their size: the caller reuses its
// buffer at once (the isolate's encoder goes back to a pool).
func TestCopyEnvelope_OwnsItsBytes(t *testing.T) {
	caps := []*capability.Capability{capability.New(capTarget{}, capability.Send)}
	for _, n := range []int{0, 1, 31, 32, 33, 64, 65, 192, 193, 4096} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i*7 + n)
		}
		want := bytes.Clone(src)
		env := mailbox.CopyEnvelope(src, caps)
		for i := range src {
			src[i] ^= 0xff // the caller's next message
		}
		if !bytes.Equal(env.Data(), want) {
			t.Fatalf("%d bytes: the envelope changed with its source", n)
		}
		if len(env.Data()) != n || cap(env.Data()) != n {
			t.Fatalf("%d bytes: Data has len %d cap %d; an append by a reader could write past the message", n, len(env.Data()), cap(env.Data()))
		}
		if env.Size() != n+16 || len(env.Caps()) != 1 || env.Caps()[0] != caps[0] {
			t.Fatalf("%d bytes: size %d caps %v", n, env.Size(), env.Caps())
		}
	}
}

// Envelopes made one after another from the same buffer never share bytes,
// and many goroutines may read one (run with -race).
func TestCopyEnvelope_SeparateAndSafeToRead(t *testing.T) {
	buf := make([]byte, 48)
	var envs []*mailbox.Envelope
	for k := 0; k < 50; k++ {
		for i := range buf {
			buf[i] = byte(k)
		}
		envs = append(envs, mailbox.CopyEnvelope(buf, nil))
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k, e := range envs {
				for _, b := range e.Data() {
					if b != byte(k) {
						t.Errorf("envelope %d holds byte %d", k, b)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
