package storage

import (
	"sort"
	"sync"
	"time"
)

// Memory is a backend that keeps everything in memory: nothing survives
// the process. It is for tests and for embedders that want the storage
// API without durability.
type Memory struct {
	mu     sync.Mutex
	slots  map[string]*memSlot
	closed bool
}

type memSlot struct {
	data  map[string][]byte
	usage Usage
	alarm *time.Time
}

// NewMemory returns an empty in-memory backend.
func NewMemory() *Memory { return &Memory{slots: make(map[string]*memSlot)} }

func (m *Memory) slot(name string, create bool) (*memSlot, error) {
	if m.closed {
		return nil, ErrClosed
	}
	s := m.slots[name]
	if s == nil && create {
		s = &memSlot{data: make(map[string][]byte)}
		m.slots[name] = s
	}
	return s, nil
}

// Get implements Backend.
func (m *Memory) Get(slot, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.slot(slot, false)
	if err != nil || s == nil {
		return nil, false, err
	}
	v, ok := s.data[key]
	return cloneBytes(v), ok, nil
}

// GetMany implements Backend.
func (m *Memory) GetMany(slot string, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		v, ok, err := m.Get(slot, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = v
		}
	}
	return out, nil
}

// List implements Backend.
func (m *Memory) List(slot string, opts ListOptions) ([]KV, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.slot(slot, false)
	if err != nil || s == nil {
		return nil, err
	}
	var keys []string
	for k := range s.data {
		if opts.InRange(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if opts.Reverse {
		for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
			keys[i], keys[j] = keys[j], keys[i]
		}
	}
	if len(keys) > opts.Limit {
		keys = keys[:opts.Limit]
	}
	out := make([]KV, len(keys))
	for i, k := range keys {
		out[i] = KV{Key: k, Value: cloneBytes(s.data[k])}
	}
	return out, nil
}

// Commit implements Backend.
func (m *Memory) Commit(slot string, b *Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.slot(slot, true)
	if err != nil {
		return err
	}
	if b.DeleteAll {
		clear(s.data)
	}
	for _, k := range b.Deletes {
		delete(s.data, k)
	}
	for _, kv := range b.Puts {
		s.data[kv.Key] = cloneBytes(kv.Value)
	}
	s.usage = b.Usage
	if a := b.Alarm; a != nil {
		if a.Delete {
			s.alarm = nil
		} else {
			at := time.UnixMilli(a.At.UnixMilli())
			s.alarm = &at
		}
	}
	return nil
}

// Usage implements Backend.
func (m *Memory) Usage(slot string) (Usage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.slot(slot, false)
	if err != nil || s == nil {
		return Usage{}, err
	}
	return s.usage, nil
}

// GetAlarm implements Backend.
func (m *Memory) GetAlarm(slot string) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.slot(slot, false)
	if err != nil || s == nil || s.alarm == nil {
		return time.Time{}, false, err
	}
	return *s.alarm, true, nil
}

// SetAlarm implements Backend.
func (m *Memory) SetAlarm(slot string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.slot(slot, true)
	if err != nil {
		return err
	}
	at = time.UnixMilli(at.UnixMilli())
	s.alarm = &at
	return nil
}

// DeleteAlarm implements Backend.
func (m *Memory) DeleteAlarm(slot string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.slot(slot, false)
	if err != nil || s == nil {
		return err
	}
	s.alarm = nil
	return nil
}

// Close implements Backend.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
