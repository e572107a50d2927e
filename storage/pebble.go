package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// Pebble is the embedded backend: one Pebble database in a directory,
// every commit synced to its write-ahead log (Pebble groups the syncs of
// concurrent commits into one).
//
// Layout: a slot's entries live under 'd' + the slot's length-prefixed
// name + the key, so one slot is one contiguous key range; its usage
// under 'u' + name and its alarm under 'a' + name.
type Pebble struct {
	db     *pebble.DB
	closed atomic.Bool
	mu     sync.RWMutex // DiskUsage against Close

	group   sync.Mutex       // guards queue and leading
	queue   []*pendingCommit // commits waiting for the group being made
	leading bool             // a group is being made
	// lastGroup is the number of commits in the last group made.
	lastGroup int
	// The leader's, reused from group to group (one leader at a time).
	batch *pebble.Batch
	kb    []byte
}

// PebbleOptions tune the embedded backend; zero fields take defaults.
type PebbleOptions struct {
	CacheBytes int64        // block cache; default 64 MiB
	Log        *slog.Logger // Pebble's own messages, at debug and error levels; default: discarded
}

// OpenPebble opens (creating if needed) the database in dir.
func OpenPebble(dir string, o PebbleOptions) (*Pebble, error) {
	db, err := OpenPebbleDB(dir, o)
	if err != nil {
		return nil, err
	}
	return &Pebble{db: db}, nil
}

// OpenPebbleDB opens the Pebble database in dir with the options the
// backend uses, for a program that measures Pebble itself beside it (the
// storage benchmark's baseline). Storing Cloister data needs OpenPebble.
func OpenPebbleDB(dir string, o PebbleOptions) (*pebble.DB, error) {
	if o.CacheBytes <= 0 {
		o.CacheBytes = 64 << 20
	}
	cache := pebble.NewCache(o.CacheBytes)
	opts := &pebble.Options{Cache: cache, Logger: pebbleLog{o.Log}}
	// Point reads (get, the size checks of put) are the common case: a
	// bloom filter on every level lets a read skip the tables that
	// cannot hold the key.
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(dir, opts)
	cache.Unref() // the database holds its own reference
	if err != nil {
		return nil, fmt.Errorf("storage: opening %s: %w", dir, err)
	}
	return db, nil
}

type pebbleLog struct{ l *slog.Logger }

func (p pebbleLog) Infof(format string, args ...any) {
	if p.l != nil {
		p.l.Debug(fmt.Sprintf(format, args...), "source", "pebble")
	}
}

func (p pebbleLog) Errorf(format string, args ...any) {
	if p.l != nil {
		p.l.Error(fmt.Sprintf(format, args...), "source", "pebble")
	}
}

func (p pebbleLog) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

func slotKey(tag byte, slot string, extra int) []byte {
	return appendSlotKey(make([]byte, 0, 1+binary.MaxVarintLen64+len(slot)+extra), tag, slot)
}

// appendSlotKey appends the prefix of slot's keys with tag to b.
func appendSlotKey(b []byte, tag byte, slot string) []byte {
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(slot)))
	return append(b, slot...)
}

func dataKey(slot, key string) []byte { return append(slotKey('d', slot, len(key)), key...) }

func (p *Pebble) check() error {
	if p.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Get implements Backend.
func (p *Pebble) Get(slot, key string) ([]byte, bool, error) {
	if err := p.check(); err != nil {
		return nil, false, err
	}
	return p.get(dataKey(slot, key))
}

func (p *Pebble) get(k []byte) ([]byte, bool, error) {
	v, c, err := p.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := cloneBytes(v)
	if out == nil {
		out = []byte{}
	}
	return out, true, c.Close()
}

// GetMany implements Backend.
func (p *Pebble) GetMany(slot string, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		v, ok, err := p.Get(slot, k)
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
func (p *Pebble) List(slot string, opts ListOptions) ([]KV, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	lo, hi, unbounded := opts.Bounds()
	base := slotKey('d', slot, 0)
	io := &pebble.IterOptions{LowerBound: append(cloneBytes(base), lo...)}
	if unbounded {
		end, _ := PrefixEnd(string(base)) // base starts with 'd': never all 0xff
		io.UpperBound = []byte(end)
	} else {
		io.UpperBound = append(cloneBytes(base), hi...)
	}
	it, err := p.db.NewIter(io)
	if err != nil {
		return nil, err
	}
	var out []KV
	valid, step := it.First, it.Next
	if opts.Reverse {
		valid, step = it.Last, it.Prev
	}
	for ok := valid(); ok && len(out) < opts.Limit; ok = step() {
		k := string(it.Key()[len(base):])
		if !opts.InRange(k) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, err
		}
		out = append(out, KV{Key: k, Value: append([]byte{}, v...)})
	}
	if err := it.Error(); err != nil {
		_ = it.Close()
		return nil, err
	}
	return out, it.Close()
}

// Commit implements Backend. Commits that arrive while another is being
// made are grouped: the first of them leads, writing all of them into one
// Pebble batch committed with one sync, which costs Pebble one pass
// through its commit pipeline instead of one per turn. A group is atomic
// as a whole, so each commit in it is; if it fails, every commit in it
// fails.
func (p *Pebble) Commit(slot string, b *Batch) error {
	if err := p.check(); err != nil {
		return err
	}
	me := pendingCommits.Get().(*pendingCommit)
	me.slot, me.b = slot, b
	defer func() {
		// done is empty again: a follower received its one value, a
		// leader none.
		me.slot, me.b = "", nil
		pendingCommits.Put(me)
	}()
	p.group.Lock()
	p.queue = append(p.queue, me)
	if p.leading {
		p.group.Unlock()
		if err := <-me.done; err != errLead {
			return err
		}
		p.group.Lock()
	}
	// Leading: the queue starts with me, the commits that arrived while
	// the last group was being made follow.
	p.leading = true
	// Gather: when the last group was made of several commits, more are
	// likely on their way (turns running, or ready to run, on this
	// processor); while yielding the processor lets more join, yield.
	// Every sync costs the kernel some 60-90 µs of CPU on the machine the
	// benchmark runs on, so a group that waits for the turns about to
	// commit saves more CPU than the yields cost. A lone committer, whose
	// last group was itself, does not wait.
	for y := 0; y < maxGatherYields && p.lastGroup > 1; y++ {
		n := len(p.queue)
		p.group.Unlock()
		runtime.Gosched()
		p.group.Lock()
		if len(p.queue) == n {
			break
		}
	}
	// Take the queue, up to maxGroupBytes (and at least me): the rest
	// waits for the next group.
	n, size := 1, batchBytes(me.slot, me.b)
	for ; n < len(p.queue); n++ {
		if size += batchBytes(p.queue[n].slot, p.queue[n].b); size > maxGroupBytes {
			break
		}
	}
	group := p.queue[:n:n]
	p.queue = slices.Clone(p.queue[n:])
	p.lastGroup = n
	p.group.Unlock()

	// The leader's batch is the backend's, reused group after group:
	// only one group is made at a time.
	pb := p.batch
	if pb == nil {
		pb = p.db.NewBatch()
	}
	var err error
	for _, c := range group {
		if err = p.fill(pb, c.slot, c.b); err != nil {
			break
		}
	}
	if err == nil {
		err = pb.Commit(pebble.Sync)
	}
	if err == nil {
		pb.Reset() // which lets go of an unusually large buffer
		p.batch = pb
	} else {
		_ = pb.Close()
		p.batch = nil
	}
	for _, c := range group[1:] {
		c.done <- err
	}
	p.group.Lock()
	if len(p.queue) > 0 {
		p.queue[0].done <- errLead
	} else {
		p.leading = false
	}
	p.group.Unlock()
	return err
}

// batchBytes is about what b takes in a Pebble batch.
func batchBytes(slot string, b *Batch) int {
	n := 64 + len(slot)
	for _, kv := range b.Puts {
		n += len(slot) + len(kv.Key) + len(kv.Value) + 16
	}
	for _, k := range b.Deletes {
		n += len(slot) + len(k) + 16
	}
	return n
}

// fill writes b's operations on slot into pb. Pebble copies keys and
// values into the batch: the leader's key buffer serves them all.
func (p *Pebble) fill(pb *pebble.Batch, slot string, b *Batch) error {
	if b.DeleteAll {
		base := slotKey('d', slot, 0)
		end, _ := PrefixEnd(string(base))
		if err := pb.DeleteRange(base, []byte(end), nil); err != nil {
			return err
		}
	}
	base := appendSlotKey(p.kb[:0], 'd', slot)
	kb := base
	for _, k := range b.Deletes {
		kb = append(kb[:len(base)], k...)
		if err := pb.Delete(kb, nil); err != nil {
			return err
		}
	}
	for _, kv := range b.Puts {
		kb = append(kb[:len(base)], kv.Key...)
		if err := pb.Set(kb, kv.Value, nil); err != nil {
			return err
		}
	}
	if cap(kb) <= maxKeyBuf {
		p.kb = kb
	}
	if !b.SameUsage {
		var u [16]byte
		binary.BigEndian.PutUint64(u[:8], uint64(b.Usage.Bytes))
		binary.BigEndian.PutUint64(u[8:], uint64(b.Usage.Keys))
		if err := pb.Set(appendSlotKey(p.kb[:0], 'u', slot), u[:], nil); err != nil {
			return err
		}
	}
	if a := b.Alarm; a != nil {
		if a.Delete {
			return pb.Delete(slotKey('a', slot, 0), nil)
		}
		return pb.Set(slotKey('a', slot, 0), alarmValue(a.At), nil)
	}
	return nil
}

// pendingCommit is a turn's batch waiting in the group queue. done gets
// exactly one value: the commit's outcome, or errLead when it is its
// turn to lead the next group.
type pendingCommit struct {
	slot string
	b    *Batch
	done chan error
}

// pendingCommits recycles pendingCommit values and their channels.
var pendingCommits = sync.Pool{New: func() any { return &pendingCommit{done: make(chan error, 1)} }}

var errLead = errors.New("storage: lead the next commit group")

const (
	// maxGatherYields bounds the times a leader yields to gather commits.
	maxGatherYields = 4
	// maxGroupBytes bounds the batch a commit group builds.
	maxGroupBytes = 8 << 20
	// maxKeyBuf bounds the leader's key buffer kept for the next group.
	maxKeyBuf = 4 << 10
)

// Usage implements Backend.
func (p *Pebble) Usage(slot string) (Usage, error) {
	if err := p.check(); err != nil {
		return Usage{}, err
	}
	v, ok, err := p.get(slotKey('u', slot, 0))
	if err != nil || !ok {
		return Usage{}, err
	}
	if len(v) != 16 {
		return Usage{}, fmt.Errorf("storage: slot %q: corrupt usage record", slot)
	}
	return Usage{Bytes: int64(binary.BigEndian.Uint64(v[:8])), Keys: int64(binary.BigEndian.Uint64(v[8:]))}, nil
}

// GetAlarm implements Backend.
func (p *Pebble) GetAlarm(slot string) (time.Time, bool, error) {
	if err := p.check(); err != nil {
		return time.Time{}, false, err
	}
	v, ok, err := p.get(slotKey('a', slot, 0))
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	if len(v) != 8 {
		return time.Time{}, false, fmt.Errorf("storage: slot %q: corrupt alarm record", slot)
	}
	return time.UnixMilli(int64(binary.BigEndian.Uint64(v))), true, nil
}

// SetAlarm implements Backend.
func (p *Pebble) SetAlarm(slot string, at time.Time) error {
	if err := p.check(); err != nil {
		return err
	}
	return p.db.Set(slotKey('a', slot, 0), alarmValue(at), pebble.Sync)
}

func alarmValue(at time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(at.UnixMilli()))
}

// DeleteAlarm implements Backend.
func (p *Pebble) DeleteAlarm(slot string) error {
	if err := p.check(); err != nil {
		return err
	}
	return p.db.Delete(slotKey('a', slot, 0), pebble.Sync)
}

// DiskUsage returns the bytes the database takes on disk: its tables,
// write-ahead log and manifest, obsolete files not yet removed included.
func (p *Pebble) DiskUsage() (int64, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if err := p.check(); err != nil {
		return 0, err
	}
	m := p.db.Metrics()
	// Pebble counts the live write-ahead log at its size when it was
	// opened; what has been written since is its logical size.
	return int64(m.DiskSpaceUsage() - m.WAL.PhysicalSize + max(m.WAL.PhysicalSize, m.WAL.Size)), nil
}

// Close implements Backend.
func (p *Pebble) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Swap(true) {
		return nil
	}
	return p.db.Close()
}
