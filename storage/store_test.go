package storage_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/storage/storagetest"
)

func open(t *testing.T, b storage.Backend, quota int64) *storage.Store {
	t.Helper()
	s, err := storage.Open(b, "slot", quota)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func listKeys(t *testing.T, s *storage.Store, o storage.ListOptions) []string {
	t.Helper()
	kvs, err := s.List(o)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, kv := range kvs {
		out = append(out, kv.Key+"="+string(kv.Value))
	}
	return out
}

func TestStoreReadsOwnWritesAndCommits(t *testing.T) {
	b := storage.NewMemory()
	s := open(t, b, 0)
	for _, k := range []string{"a", "b", "c", "d"} {
		if err := s.Put(k, []byte("old")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("b", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Delete("c"); !ok {
		t.Fatal("delete of a stored key reported false")
	}
	if ok, _ := s.Delete("zz"); ok {
		t.Fatal("delete of a missing key reported true")
	}
	_ = s.Put("bb", []byte("new"))
	if v, ok, _ := s.Get("b"); !ok || string(v) != "new" {
		t.Fatalf("turn does not read its own write: %q", v)
	}
	if _, ok, _ := s.Get("c"); ok {
		t.Fatal("turn reads a key it deleted")
	}
	if v, _, _ := b.Get("slot", "b"); string(v) != "old" {
		t.Fatal("a write reached the backend before the commit")
	}
	want := []string{"a=old", "b=new", "bb=new", "d=old"}
	if got := listKeys(t, s, storage.ListOptions{}); !reflect.DeepEqual(got, want) {
		t.Fatalf("list before commit = %q, want %q", got, want)
	}
	if got := listKeys(t, s, storage.ListOptions{Limit: 2, Reverse: true}); !reflect.DeepEqual(got, []string{"d=old", "bb=new"}) {
		t.Fatalf("reverse list = %q", got)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, b, 0) // a new incarnation
	if got := listKeys(t, s2, storage.ListOptions{}); !reflect.DeepEqual(got, want) {
		t.Fatalf("list after commit = %q, want %q", got, want)
	}
	if s2.Usage() != s.Usage() || s2.Usage().Keys != 4 {
		t.Fatalf("usage %+v, reopened %+v", s.Usage(), s2.Usage())
	}
}

// TestStoreListHidesDeletedPastLimit: pending deletes of the first keys
// must not shorten a limited list.
func TestStoreListHidesDeletedPastLimit(t *testing.T) {
	s := open(t, storage.NewMemory(), 0)
	for i := 0; i < 10; i++ {
		_ = s.Put(fmt.Sprint(i), []byte("v"))
	}
	_ = s.Commit()
	for i := 0; i < 3; i++ {
		_, _ = s.Delete(fmt.Sprint(i))
	}
	if got := listKeys(t, s, storage.ListOptions{Limit: 3}); !reflect.DeepEqual(got, []string{"3=v", "4=v", "5=v"}) {
		t.Fatalf("list = %q", got)
	}
}

func TestStoreTransactionRollback(t *testing.T) {
	s := open(t, storage.NewMemory(), 0)
	_ = s.Put("keep", []byte("1"))
	before := s.Usage()
	sp := s.Begin()
	_ = s.Put("keep", []byte("changed"))
	_ = s.Put("new", []byte("2"))
	inner := s.Begin()
	s.DeleteAll()
	s.Rollback(inner)
	if v, _, _ := s.Get("new"); string(v) != "2" {
		t.Fatal("inner rollback undid the outer transaction's write")
	}
	s.Rollback(sp)
	if v, _, _ := s.Get("keep"); string(v) != "1" {
		t.Fatalf("after rollback keep = %q", v)
	}
	if _, ok, _ := s.Get("new"); ok {
		t.Fatal("rolled back put still visible")
	}
	if s.Usage() != before {
		t.Fatalf("usage %+v after rollback, want %+v", s.Usage(), before)
	}
	sp = s.Begin()
	_ = s.Put("t", []byte("3"))
	s.Release(sp)
	if _, ok, _ := s.Get("t"); !ok {
		t.Fatal("released transaction lost its write")
	}
}

func TestStoreLimits(t *testing.T) {
	b := storage.NewMemory()
	s := open(t, b, 100)
	refused := 0
	s.OnQuotaRefusal(func() { refused++ })
	if err := s.Put(strings.Repeat("k", storage.MaxKeyBytes+1), nil); !errors.Is(err, storage.ErrKeyTooLarge) {
		t.Fatalf("oversized key: %v", err)
	}
	if err := s.Put("k", make([]byte, storage.MaxValueBytes+1)); !errors.Is(err, storage.ErrValueTooLarge) {
		t.Fatalf("oversized value: %v", err)
	}
	if err := s.Put("k", make([]byte, 60)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("k2", make([]byte, 60)); !errors.Is(err, storage.ErrQuota) {
		t.Fatalf("over quota: %v", err)
	}
	if refused != 1 {
		t.Fatalf("%d quota refusals reported, want 1 (the oversized key and value are not quota refusals)", refused)
	}
	// Shrinking is always allowed, and frees room.
	if err := s.Put("k", make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("k2", make([]byte, 40)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(storage.ListOptions{Limit: storage.MaxLimit + 1}); !errors.Is(err, storage.ErrBadList) {
		t.Fatalf("list over the limit: %v", err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if u, _ := b.Usage("slot"); u.Keys != 2 || u.Bytes > 100 {
		t.Fatalf("stored usage %+v", u)
	}
}

func TestStoreFailedCommitDropsWrites(t *testing.T) {
	f := &storagetest.Faulty{Backend: storage.NewMemory()}
	s := open(t, f, 0)
	_ = s.Put("a", []byte("1"))
	f.FailCommits.Store(true)
	if err := s.Commit(); !errors.Is(err, storagetest.ErrInjected) {
		t.Fatalf("commit = %v", err)
	}
	if _, ok, _ := s.Get("a"); ok {
		t.Fatal("a failed commit's write is still visible")
	}
	if s.Usage() != (storage.Usage{}) {
		t.Fatalf("usage after a failed commit: %+v", s.Usage())
	}
}

func TestStoreAlarm(t *testing.T) {
	b := storage.NewMemory()
	s := open(t, b, 0)
	at := time.UnixMilli(1_900_000_000_000)
	sp := s.Begin()
	s.SetAlarm(at)
	s.Rollback(sp)
	if _, ok := s.Alarm(); ok {
		t.Fatal("a rolled back setAlarm is visible")
	}
	s.SetAlarm(at)
	if got, ok := s.Alarm(); !ok || !got.Equal(at) {
		t.Fatalf("the turn does not see its alarm: %v %v", got, ok)
	}
	if _, ok := s.CommittedAlarm(); ok {
		t.Fatal("an uncommitted alarm counts as committed")
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, ok := open(t, b, 0).CommittedAlarm(); !ok || !got.Equal(at) {
		t.Fatalf("a new incarnation reads alarm %v %v", got, ok)
	}
	s.DeleteAlarm()
	_ = s.Commit()
	if _, ok, _ := b.GetAlarm("slot"); ok {
		t.Fatal("deleted alarm still stored")
	}
}

// countingGets counts the point reads that reach the backend.
type countingGets struct {
	storage.Backend
	gets int
}

func (c *countingGets) Get(slot, key string) ([]byte, bool, error) {
	c.gets++
	return c.Backend.Get(slot, key)
}

// TestStoreKnowsWhatItCommitted: a put of a key the store has read or
// committed counts the quota without reading the old value again, and the
// usage stays exact through puts, deletes, deleteAll and more keys than
// the store remembers.
func TestStoreKnowsWhatItCommitted(t *testing.T) {
	b := &countingGets{Backend: storage.NewMemory()}
	s := open(t, b, 0)
	commit := func() {
		t.Helper()
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put("n", []byte("1")); err != nil {
		t.Fatal(err)
	}
	commit()
	before := b.gets
	for i := range 10 {
		if err := s.Put("n", []byte(fmt.Sprint(i*1000))); err != nil {
			t.Fatal(err)
		}
		commit()
	}
	if b.gets != before {
		t.Fatalf("%d backend reads for 10 puts of a key the store committed, want 0", b.gets-before)
	}
	// A model of the usage, against the store's through many keys.
	want := map[string]int{"n": len("n") + len("9000") + 16}
	check := func(when string) {
		t.Helper()
		var u storage.Usage
		for _, n := range want {
			u.Bytes += int64(n)
			u.Keys++
		}
		if got := s.Usage(); got != u {
			t.Fatalf("%s: usage %+v, want %+v", when, got, u)
		}
		if got, _ := b.Usage("slot"); got != u {
			t.Fatalf("%s: stored usage %+v, want %+v", when, got, u)
		}
	}
	check("after the puts")
	for round := range 3 {
		for i := range 300 { // more keys than the store remembers
			k := fmt.Sprintf("k%03d", i)
			v := strings.Repeat("v", round+i%7)
			if err := s.Put(k, []byte(v)); err != nil {
				t.Fatal(err)
			}
			want[k] = len(k) + len(v) + 16
			if i%3 == 0 {
				if _, err := s.Delete(fmt.Sprintf("k%03d", i/2)); err != nil {
					t.Fatal(err)
				}
				delete(want, fmt.Sprintf("k%03d", i/2))
			}
			if i%10 == 0 {
				commit()
			}
		}
		commit()
		check(fmt.Sprintf("round %d", round))
	}
	s.DeleteAll()
	if err := s.Put("n", []byte("x")); err != nil {
		t.Fatal(err)
	}
	commit()
	want = map[string]int{"n": 1 + 1 + 16}
	check("after deleteAll")
	// A new store (a new incarnation) learns from the backend again.
	s = open(t, b, 0)
	if err := s.Put("n", []byte("yy")); err != nil {
		t.Fatal(err)
	}
	commit()
	want["n"]++
	check("in a new store")
}

// recordingBatches keeps the batches committed to it.
type recordingBatches struct {
	storage.Backend
	batches []storage.Batch
}

func (r *recordingBatches) Commit(slot string, b *storage.Batch) error {
	r.batches = append(r.batches, *b)
	return r.Backend.Commit(slot, b)
}

// TestStoreSameUsage: a batch says when it leaves the usage as the last
// commit stored it, and only then.
func TestStoreSameUsage(t *testing.T) {
	b := &recordingBatches{Backend: storage.NewMemory()}
	s := open(t, b, 0)
	for _, step := range []struct {
		key, value string
		same       bool
	}{{"a", "1", false}, {"a", "2", true}, {"a", "22", false}, {"b", "1", false}, {"b", "3", true}} {
		if err := s.Put(step.key, []byte(step.value)); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := b.batches[len(b.batches)-1].SameUsage; got != step.same {
			t.Fatalf("put %s=%s: SameUsage %v, want %v", step.key, step.value, got, step.same)
		}
	}
	if u, _ := b.Usage("slot"); u != s.Usage() || u.Keys != 2 {
		t.Fatalf("stored usage %+v, the store's %+v", u, s.Usage())
	}
}
