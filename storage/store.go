package storage

import (
	"fmt"
	"sort"
	"time"
)

// Store is one slot's storage as its process sees it during turns: reads
// go through the turn's pending writes to the backend, writes are
// buffered until Commit applies them all at once. It is not safe for
// concurrent use: the owning process uses it from one turn at a time.
type Store struct {
	b     Backend
	slot  string
	quota int64

	usage   Usage            // as of the last commit
	pend    map[string]entry // the turn's writes by key
	cleared bool             // the turn ran deleteAll before the writes in pend
	pu      Usage            // usage with the pending writes applied
	pbytes  int64            // bytes the pending writes hold in memory
	undo    []undoRec        // for open transactions
	ubytes  int64            // bytes the undo log keeps alive (keys and replaced values)
	depth   int              // open transactions

	alarm  *time.Time   // as of the last commit
	palarm *AlarmChange // the turn's change to it

	onQuota func() // told of each write refused for the quota

	batch Batch    // Commit's, reused
	keys  []string // Commit's sorted keys, reused

	// known is the committed size (EntrySize) of keys read or written
	// lately, -1 for a key known to be absent, so that a put of a known
	// key need not read its old value from the backend to count the
	// quota. The store is its slot's only writer, so what it committed
	// stays true. Bounded: at most maxKnown keys of at most maxKnownKey
	// bytes; emptied when full.
	known map[string]int64
}

const (
	maxKnown    = 128
	maxKnownKey = 64

	maxReusedKeys = 128 // Commit keeps its buffers for turns that wrote at most this many keys
)

// entry is a pending write: a value, or a delete when del is set.
type entry struct {
	value []byte
	del   bool
}

// undoRec is what a write inside a transaction changed.
type undoRec struct {
	key     string
	prev    entry // the key's pending write, if hadPrev
	hadPrev bool
	usage   Usage
	pbytes  int64
	ubytes  int64
	all     map[string]entry // for deleteAll: the pending writes it dropped
	cleared bool
	isAll   bool
	isAlarm bool
	palarm  *AlarmChange
}

// Open returns slot's store on b with a quota in bytes (0 means
// DefaultQuota), reading the slot's usage.
func Open(b Backend, slot string, quota int64) (*Store, error) {
	if quota <= 0 {
		quota = DefaultQuota
	}
	u, err := b.Usage(slot)
	if err != nil {
		return nil, fmt.Errorf("storage: opening %q: %w", slot, err)
	}
	s := &Store{b: b, slot: slot, quota: quota, usage: u, pu: u, pend: make(map[string]entry)}
	if at, ok, err := b.GetAlarm(slot); err != nil {
		return nil, fmt.Errorf("storage: opening %q: %w", slot, err)
	} else if ok {
		s.alarm = &at
	}
	return s, nil
}

// OnQuotaRefusal makes the store call f each time it refuses a write for
// the quota (for metrics); f runs on the caller's goroutine.
func (s *Store) OnQuotaRefusal(f func()) { s.onQuota = f }

// Slot is the name the store's data is kept under.
func (s *Store) Slot() string { return s.slot }

// Usage is what the slot holds, the pending writes included.
func (s *Store) Usage() Usage { return s.pu }

// Quota is the slot's quota in bytes.
func (s *Store) Quota() int64 { return s.quota }

// PendingBytes is the memory the pending writes hold.
// Inside a transaction that includes what the undo log keeps for a
// rollback: each overwritten value and each set of writes deleteAll
// dropped, or a loop of overwrites would hold far more than it is charged.
func (s *Store) PendingBytes() int64 { return s.pbytes + s.ubytes }

// Get returns key's value as the turn sees it.
func (s *Store) Get(key string) ([]byte, bool, error) {
	if err := CheckKey(key); err != nil {
		return nil, false, err
	}
	if e, ok := s.pend[key]; ok {
		return e.value, !e.del, nil
	}
	if s.cleared {
		return nil, false, nil
	}
	v, ok, err := s.b.Get(s.slot, key)
	if err == nil {
		s.learn(key, v, ok)
	}
	return v, ok, err
}

// learn notes the committed size of key: value's, or absent.
func (s *Store) learn(key string, value []byte, ok bool) {
	if len(key) > maxKnownKey {
		return
	}
	if s.known == nil {
		s.known = make(map[string]int64)
	} else if _, had := s.known[key]; !had && len(s.known) >= maxKnown {
		clear(s.known)
	}
	n := int64(-1)
	if ok {
		n = EntrySize(key, value)
	}
	s.known[key] = n
}

// GetMany returns the values of the keys that exist, by key.
func (s *Store) GetMany(keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	var miss []string
	for _, k := range keys {
		if err := CheckKey(k); err != nil {
			return nil, err
		}
		if e, ok := s.pend[k]; ok {
			if !e.del {
				out[k] = e.value
			}
			continue
		}
		if !s.cleared {
			miss = append(miss, k)
		}
	}
	if len(miss) > 0 {
		got, err := s.b.GetMany(s.slot, miss)
		if err != nil {
			return nil, err
		}
		for k, v := range got {
			out[k] = v
		}
	}
	return out, nil
}

// size is what key counts against the quota now, and whether it exists.
func (s *Store) size(key string) (int64, bool, error) {
	if _, pending := s.pend[key]; !pending && !s.cleared {
		if n, ok := s.known[key]; ok {
			return max(n, 0), n >= 0, nil
		}
	}
	v, ok, err := s.Get(key)
	if err != nil || !ok {
		return 0, false, err
	}
	return EntrySize(key, v), true, nil
}

// Put sets key to value (an encoded value the store keeps; the caller
// must not change it afterwards).
func (s *Store) Put(key string, value []byte) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := CheckValue(value); err != nil {
		return err
	}
	old, had, err := s.size(key)
	if err != nil {
		return err
	}
	u := s.pu
	u.Bytes += EntrySize(key, value) - old
	if !had {
		u.Keys++
	}
	if u.Bytes > s.quota && u.Bytes > s.pu.Bytes {
		if s.onQuota != nil {
			s.onQuota()
		}
		return fmt.Errorf("%w: %d bytes would be stored, the quota is %d", ErrQuota, u.Bytes, s.quota)
	}
	s.write(key, entry{value: value}, u)
	return nil
}

// Delete removes key and reports whether it existed.
func (s *Store) Delete(key string) (bool, error) {
	if err := CheckKey(key); err != nil {
		return false, err
	}
	old, had, err := s.size(key)
	if err != nil {
		return false, err
	}
	if !had {
		return false, nil
	}
	u := s.pu
	u.Bytes -= old
	u.Keys--
	s.write(key, entry{del: true}, u)
	return true, nil
}

func (s *Store) write(key string, e entry, u Usage) {
	prev, had := s.pend[key]
	if s.depth > 0 {
		s.undo = append(s.undo, undoRec{key: key, prev: prev, hadPrev: had, usage: s.pu, pbytes: s.pbytes, ubytes: s.ubytes})
		s.ubytes += int64(len(key) + len(prev.value) + entryOverhead)
	}
	if had {
		s.pbytes -= int64(len(key) + len(prev.value) + entryOverhead)
	}
	s.pbytes += int64(len(key) + len(e.value) + entryOverhead)
	s.pend[key] = e
	s.pu = u
}

// DeleteAll removes every entry of the slot.
func (s *Store) DeleteAll() {
	if s.depth > 0 {
		s.undo = append(s.undo, undoRec{isAll: true, all: s.pend, cleared: s.cleared, usage: s.pu, pbytes: s.pbytes, ubytes: s.ubytes})
		s.ubytes += s.pbytes
	}
	s.pend = make(map[string]entry)
	s.cleared = true
	s.pu = Usage{}
	s.pbytes = 0
}

// List returns the entries opts selects as the turn sees them.
func (s *Store) List(opts ListOptions) ([]KV, error) {
	opts, err := opts.Normalize()
	if err != nil {
		return nil, err
	}
	var local []string
	for k := range s.pend {
		if opts.InRange(k) {
			local = append(local, k)
		}
	}
	var stored []KV
	if !s.cleared {
		// Ask for enough that the pending writes in range, deletes
		// included, cannot hide an entry that belongs in the answer:
		// past the last stored entry returned, at least Limit entries
		// that are known for certain precede it.
		o := opts
		o.Limit = opts.Limit + len(local)
		if stored, err = s.b.List(s.slot, o); err != nil {
			return nil, err
		}
	}
	if len(local) == 0 {
		if len(stored) > opts.Limit {
			stored = stored[:opts.Limit]
		}
		return stored, nil
	}
	merged := make(map[string][]byte, len(stored)+len(local))
	for _, kv := range stored {
		merged[kv.Key] = kv.Value
	}
	for _, k := range local {
		if e := s.pend[k]; e.del {
			delete(merged, k)
		} else {
			merged[k] = e.value
		}
	}
	out := make([]KV, 0, len(merged))
	for k, v := range merged {
		out = append(out, KV{Key: k, Value: v})
	}
	sort.Slice(out, func(a, b int) bool {
		if opts.Reverse {
			return out[a].Key > out[b].Key
		}
		return out[a].Key < out[b].Key
	})
	if len(out) > opts.Limit {
		out = out[:opts.Limit]
	}
	return out, nil
}

// Begin opens a transaction and returns its savepoint.
func (s *Store) Begin() int {
	s.depth++
	return len(s.undo)
}

// Rollback undoes every write since savepoint sp and closes the transaction.
func (s *Store) Rollback(sp int) {
	for i := len(s.undo) - 1; i >= sp; i-- {
		r := s.undo[i]
		s.ubytes = r.ubytes
		if r.isAlarm {
			s.palarm = r.palarm
			continue
		}
		if r.isAll {
			s.pend, s.cleared = r.all, r.cleared
		} else if !r.hadPrev {
			delete(s.pend, r.key)
		} else {
			s.pend[r.key] = r.prev
		}
		s.pu, s.pbytes = r.usage, r.pbytes
	}
	clear(s.undo[sp:]) // let go of the values the records held
	s.undo = s.undo[:sp]
	s.end()
}

// Release closes the transaction opened at sp, keeping its writes.
func (s *Store) Release(sp int) {
	s.end()
	if s.depth == 0 {
		clear(s.undo)
		s.undo = s.undo[:0]
		s.ubytes = 0
	}
}

func (s *Store) end() {
	if s.depth > 0 {
		s.depth--
	}
}

// Dirty reports whether the turn has writes to commit.
func (s *Store) Dirty() bool { return s.cleared || len(s.pend) > 0 || s.palarm != nil }

// Alarm returns the slot's alarm as the turn sees it.
func (s *Store) Alarm() (time.Time, bool) {
	if a := s.palarm; a != nil {
		return a.At, !a.Delete
	}
	return s.CommittedAlarm()
}

// CommittedAlarm returns the slot's alarm as of the last commit.
func (s *Store) CommittedAlarm() (time.Time, bool) {
	if s.alarm == nil {
		return time.Time{}, false
	}
	return *s.alarm, true
}

// SetAlarm sets the slot's alarm to at (kept to the millisecond) when
// the turn commits.
func (s *Store) SetAlarm(at time.Time) {
	s.changeAlarm(&AlarmChange{At: time.UnixMilli(at.UnixMilli())})
}

// DeleteAlarm deletes the slot's alarm when the turn commits.
func (s *Store) DeleteAlarm() { s.changeAlarm(&AlarmChange{Delete: true}) }

func (s *Store) changeAlarm(a *AlarmChange) {
	if s.depth > 0 {
		s.undo = append(s.undo, undoRec{isAlarm: true, palarm: s.palarm, ubytes: s.ubytes})
	}
	s.palarm = a
}

// Commit applies the pending writes atomically. On failure they are
// dropped and the store is as of the last successful commit.
func (s *Store) Commit() error {
	if !s.Dirty() {
		return nil
	}
	// The batch and its key list are the store's, reused turn after turn
	// (backends keep nothing of a batch once Commit returns).
	b := &s.batch
	*b = Batch{DeleteAll: s.cleared, Usage: s.pu, SameUsage: s.pu == s.usage, Alarm: s.palarm,
		Puts: b.Puts[:0], Deletes: b.Deletes[:0]}
	keys := s.keys[:0]
	for k := range s.pend {
		keys = append(keys, k)
	}
	if len(keys) > 1 {
		sort.Strings(keys)
	}
	for _, k := range keys {
		if e := s.pend[k]; e.del {
			if !s.cleared {
				b.Deletes = append(b.Deletes, k)
			}
		} else {
			b.Puts = append(b.Puts, KV{Key: k, Value: e.value})
		}
	}
	err := s.b.Commit(s.slot, b)
	if b.DeleteAll || err != nil {
		clear(s.known)
	}
	if err == nil {
		for _, k := range b.Deletes {
			s.learn(k, nil, false)
		}
		for _, kv := range b.Puts {
			s.learn(kv.Key, kv.Value, true)
		}
		s.usage = s.pu
		if a := s.palarm; a != nil && a.Delete {
			s.alarm = nil
		} else if a != nil {
			at := a.At
			s.alarm = &at
		}
	}
	// Keep the buffers, not what they point to; a turn that wrote many
	// keys leaves no large buffers behind.
	clear(keys)
	clear(b.Puts)
	clear(b.Deletes)
	if cap(keys) > maxReusedKeys {
		keys, b.Puts, b.Deletes = nil, nil, nil
	}
	s.keys, b.Alarm = keys, nil
	s.reset()
	return err
}

// Discard drops the pending writes.
func (s *Store) Discard() { s.reset() }

func (s *Store) reset() {
	clear(s.pend)
	s.cleared = false
	s.pu = s.usage
	s.pbytes = 0
	clear(s.undo)
	s.undo = s.undo[:0]
	s.ubytes = 0
	s.depth = 0
	s.palarm = nil
}
