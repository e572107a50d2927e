package codec

import (
	"errors"
	"fmt"

	"github.com/cloister-rt/cloister/mailbox"
)

// Check reports whether env holds one whole message of the format, every
// capability it names among env.Caps(), without building it: for bytes
// that come from outside the node (another node's frames) before a
// receiver decodes them. Map keys are not checked, as a JS receiver
// accepts any. It allocates nothing and never panics.
func Check(env *mailbox.Envelope) error {
	if env == nil {
		return errors.New("codec: check: no envelope")
	}
	d := decoder{b: env.Data(), caps: env.Caps(), envelope: true}
	it, err := d.next()
	if err == nil {
		err = d.skip(it, 0)
	}
	if err == nil && d.off != len(d.b) {
		err = fmt.Errorf("%w: %d bytes after the value", ErrMalformed, len(d.b)-d.off)
	}
	if err != nil {
		return fmt.Errorf("codec: check: %w", err)
	}
	return nil
}
