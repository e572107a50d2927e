package codec

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/cloister-rt/cloister/mailbox"
)

// MaxReceiverHeap is the estimated heap of JS values a message may take a
// JS receiver to build; a receiver refuses a message over it (see package
// isolate, "Expansion": one byte can become hundreds of bytes of heap).
const MaxReceiverHeap = 64 << 20

// The heap a JS receiver counts for each value it decodes: package
// isolate charges these while decoding, and Check sums them ahead of it,
// so both read them from here.
const (
	HeapCostObject    = 192 // an empty object
	HeapCostFirstProp = 288 // the property map of an object's first property
	HeapCostProp      = 16  // per property, plus the key's length
	HeapCostArray     = 576 // an empty array
	HeapCostElem      = 16  // per element
	HeapCostString    = 32  // per string, plus its length
	HeapCostBytes     = 448 // a Uint8Array, plus its length
	HeapCostDate      = 192 // a Date
	HeapCostCap       = 192 // a capability handle
	maxKeyForm        = 32  // the longest JS string form of a number, nil or a boolean key
)

// Check reports whether env holds one whole message that a JS receiver
// decodes: the format, every capability among env.Caps(), map keys that
// are strings, numbers, nil or booleans, and no more than MaxReceiverHeap
// of estimated heap. It is for bytes that come from outside the node
// (another node's frames), before a receiver decodes them: those a
// receiver could not decode would fail its turn. It builds nothing and
// never panics.
func Check(env *mailbox.Envelope) error {
	if env == nil {
		return errors.New("codec: check: no envelope")
	}
	d := decoder{b: env.Data(), caps: env.Caps(), envelope: true}
	heap := 0
	it, err := d.next()
	if err == nil {
		err = d.check(it, 0, &heap)
	}
	if err == nil && d.off != len(d.b) {
		err = fmt.Errorf("%w: %d bytes after the value", ErrMalformed, len(d.b)-d.off)
	}
	if err != nil {
		return fmt.Errorf("codec: check: %w", err)
	}
	return nil
}

// check walks it and what it contains, adding their heap to heap.
func (d *decoder) check(it item, depth int, heap *int) error {
	charge := func(c int) error {
		if *heap += c; *heap > MaxReceiverHeap {
			return malformed("more than %d bytes of heap to build", MaxReceiverHeap)
		}
		return nil
	}
	switch it.kind {
	case kStr:
		return charge(HeapCostString + utf8Len(it.s))
	case kBin:
		return charge(HeapCostBytes + len(it.s))
	case kDate:
		return charge(HeapCostDate)
	case kCap:
		return charge(HeapCostCap)
	case kArray:
		if err := d.enter(depth); err != nil {
			return err
		}
		if err := charge(HeapCostArray + HeapCostElem*it.n); err != nil {
			return err
		}
		for range it.n {
			el, err := d.next()
			if err != nil {
				return err
			}
			if err := d.check(el, depth+1, heap); err != nil {
				return err
			}
		}
	case kMap:
		if err := d.enter(depth); err != nil {
			return err
		}
		c := HeapCostObject
		if it.n > 0 {
			c += HeapCostFirstProp
		}
		if err := charge(c); err != nil {
			return err
		}
		for range it.n {
			k, err := d.next()
			if err != nil {
				return err
			}
			kl := maxKeyForm
			switch k.kind {
			case kStr:
				kl = utf8Len(k.s)
			case kNil, kBool, kInt, kUint, kFloat:
			default:
				return malformed("%s as a map key", k.kind)
			}
			if err := charge(HeapCostProp + kl); err != nil {
				return err
			}
			v, err := d.next()
			if err != nil {
				return err
			}
			if err := d.check(v, depth+1, heap); err != nil {
				return err
			}
		}
	}
	return nil
}

// utf8Len is the length of s once invalid UTF-8 is replaced, at most.
func utf8Len(s []byte) int {
	if utf8.Valid(s) {
		return len(s)
	}
	return 3 * len(s)
}
