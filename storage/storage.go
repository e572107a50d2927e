package storage

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits on what one slot may hold.
const (
	MaxKeyBytes   = 2 << 10   // a key, in bytes
	MaxValueBytes = 128 << 10 // an encoded value, in bytes
	DefaultLimit  = 1000      // entries a list returns when it names no limit
	MaxLimit      = 10000     // entries one list may return at most
	// DefaultQuota is a slot's quota when the spec names none.
	DefaultQuota = 64 << 20
	// entryOverhead is what one stored entry costs beyond its key and
	// value when a quota is counted.
	entryOverhead = 16
)

// Typed errors. Every refusal wraps one of them.
var (
	ErrKeyTooLarge   = errors.New("storage key too large")
	ErrValueTooLarge = errors.New("storage value too large")
	ErrQuota         = errors.New("storage quota exceeded")
	ErrBadKey        = errors.New("invalid storage key")
	ErrBadList       = errors.New("invalid storage list options")
	ErrClosed        = errors.New("storage closed")
)

// KV is one stored entry.
type KV struct {
	Key   string
	Value []byte
}

// ListOptions selects a range of a slot's keys: those with Prefix, at or
// after Start and before End (empty means unbounded), in key order or in
// reverse, at most Limit of them (0 means DefaultLimit).
type ListOptions struct {
	Prefix  string
	Start   string
	End     string
	Reverse bool
	Limit   int
}

// Usage is what a slot holds: the bytes counted against its quota and
// its number of keys.
type Usage struct {
	Bytes int64
	Keys  int64
}

// EntrySize is what one entry counts against a quota.
func EntrySize(key string, value []byte) int64 {
	return int64(len(key) + len(value) + entryOverhead)
}

// Batch is the writes of one turn of one slot, applied atomically by
// Backend.Commit: when DeleteAll is set every entry of the slot is removed
// first, then Deletes and Puts are applied (a key is in at most one of
// them). Usage is the slot's usage after the batch, which the backend
// stores with it; SameUsage says it is the usage the slot's last commit
// stored, so the backend may skip storing it again. Alarm, when set, sets
// or deletes the slot's alarm in the same commit.
type Batch struct {
	DeleteAll bool
	Puts      []KV
	Deletes   []string
	Usage     Usage
	SameUsage bool
	Alarm     *AlarmChange
}

// AlarmChange sets a slot's alarm to At, or deletes it.
type AlarmChange struct {
	At     time.Time
	Delete bool
}

// Backend is durable storage for many slots. A slot is the name of the
// process that owns the data; each slot has one writer at a time (its
// process), so a backend need not arbitrate between writers of a slot.
// Every method is safe for concurrent use on different slots.
type Backend interface {
	// Get returns key's value in slot, or ok false.
	Get(slot, key string) (value []byte, ok bool, err error)
	// GetMany returns the values of keys that exist, by key.
	GetMany(slot string, keys []string) (map[string][]byte, error)
	// List returns the entries opts selects, in the order it asks for,
	// at most opts.Limit (> 0, possibly above MaxLimit) of them.
	List(slot string, opts ListOptions) ([]KV, error)
	// Commit applies b atomically and durably: all of it or none of it
	// survives a crash of the node once Commit returns. It keeps nothing
	// of b (its slices are reused for the next commit).
	Commit(slot string, b *Batch) error
	// Usage returns what slot holds, as stored by the last commit.
	Usage(slot string) (Usage, error)
	// GetAlarm returns slot's alarm, or ok false.
	GetAlarm(slot string) (at time.Time, ok bool, err error)
	// SetAlarm sets slot's alarm to at, replacing any.
	SetAlarm(slot string, at time.Time) error
	// DeleteAlarm removes slot's alarm, if any.
	DeleteAlarm(slot string) error
	// Close releases the backend; calls after it fail with ErrClosed.
	Close() error
}

// CheckKey checks a key against the limits.
func CheckKey(key string) error {
	if len(key) > MaxKeyBytes {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrKeyTooLarge, len(key), MaxKeyBytes)
	}
	return nil
}

// CheckValue checks an encoded value against the limits.
func CheckValue(v []byte) error {
	if len(v) > MaxValueBytes {
		return fmt.Errorf("%w: %d bytes encoded, the limit is %d", ErrValueTooLarge, len(v), MaxValueBytes)
	}
	return nil
}

// Normalize checks opts and fills in its default limit.
func (opts ListOptions) Normalize() (ListOptions, error) {
	if opts.Limit == 0 {
		opts.Limit = DefaultLimit
	}
	if opts.Limit < 0 || opts.Limit > MaxLimit {
		return opts, fmt.Errorf("%w: limit must be between 1 and %d", ErrBadList, MaxLimit)
	}
	for _, k := range []string{opts.Prefix, opts.Start, opts.End} {
		if err := CheckKey(k); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// Bounds returns the half-open key range [lo, hi) opts selects; hi == ""
// with unbounded true means no upper bound.
func (opts ListOptions) Bounds() (lo, hi string, unbounded bool) {
	lo = opts.Start
	if opts.Prefix > lo {
		lo = opts.Prefix
	}
	hi, unbounded = opts.End, opts.End == ""
	if opts.Prefix != "" {
		if pe, ok := PrefixEnd(opts.Prefix); ok && (unbounded || pe < hi) {
			hi, unbounded = pe, false
		}
	}
	return lo, hi, unbounded
}

// InRange reports whether key is selected by opts, its limit aside.
func (opts ListOptions) InRange(key string) bool {
	lo, hi, unbounded := opts.Bounds()
	return key >= lo && (unbounded || key < hi) && strings.HasPrefix(key, opts.Prefix)
}

// PrefixEnd returns the smallest string greater than every string with
// prefix p, or ok false when there is none (p is all 0xff bytes).
func PrefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

func cloneBytes(b []byte) []byte { return bytes.Clone(b) }
