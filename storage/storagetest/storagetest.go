// Package storagetest holds what tests of storage backends and of their
// users share: the conformance suite every backend must pass, and a
// backend wrapper that fails on demand.
package storagetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/storage"
)

// Run runs the conformance suite against backends made by open, a fresh
// empty backend for each subtest. The caller closes nothing: Run closes
// each backend it opens.
func Run(t *testing.T, open func(t *testing.T) storage.Backend) {
	for _, c := range []struct {
		name string
		f    func(*testing.T, storage.Backend)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"GetMany", testGetMany},
		{"List", testList},
		{"SlotsAreSeparate", testSlots},
		{"DeleteAll", testDeleteAll},
		{"Usage", testUsage},
		{"Alarms", testAlarms},
		{"Concurrent", testConcurrent},
		{"Closed", testClosed},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := open(t)
			defer b.Close()
			c.f(t, b)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func commit(t *testing.T, b storage.Backend, slot string, batch storage.Batch) {
	t.Helper()
	must(t, b.Commit(slot, &batch))
}

func testGetPutDelete(t *testing.T, b storage.Backend) {
	if _, ok, err := b.Get("s", "k"); err != nil || ok {
		t.Fatalf("get of a missing key = %v, %v", ok, err)
	}
	commit(t, b, "s", storage.Batch{Puts: []storage.KV{{Key: "k", Value: []byte("v1")}, {Key: "", Value: []byte{}}}})
	v, ok, err := b.Get("s", "k")
	if err != nil || !ok || string(v) != "v1" {
		t.Fatalf("get = %q, %v, %v; want v1", v, ok, err)
	}
	if v, ok, err := b.Get("s", ""); err != nil || !ok || len(v) != 0 {
		t.Fatalf("empty key with empty value: %q, %v, %v", v, ok, err)
	}
	v[0] = 'X' // the caller owns what it gets
	commit(t, b, "s", storage.Batch{Puts: []storage.KV{{Key: "k", Value: []byte("v2")}}})
	if v, _, _ := b.Get("s", "k"); string(v) != "v2" {
		t.Fatalf("overwritten value = %q", v)
	}
	commit(t, b, "s", storage.Batch{Deletes: []string{"k", "never-there"}})
	if _, ok, _ := b.Get("s", "k"); ok {
		t.Fatal("deleted key still there")
	}
}

func testGetMany(t *testing.T, b storage.Backend) {
	commit(t, b, "s", storage.Batch{Puts: []storage.KV{{Key: "a", Value: []byte("1")}, {Key: "c", Value: []byte("3")}}})
	got, err := b.GetMany("s", []string{"a", "b", "c"})
	must(t, err)
	want := map[string][]byte{"a": []byte("1"), "c": []byte("3")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetMany = %q, want %q", got, want)
	}
}

func keys(kvs []storage.KV) []string {
	out := []string{}
	for _, kv := range kvs {
		out = append(out, kv.Key)
	}
	return out
}

func testList(t *testing.T, b storage.Backend) {
	var puts []storage.KV
	for _, k := range []string{"a", "a/1", "a/2", "a/3", "b", "b/1", "c", "\xff", "\xff\xff"} {
		puts = append(puts, storage.KV{Key: k, Value: []byte("v:" + k)})
	}
	commit(t, b, "s", storage.Batch{Puts: puts})
	for _, c := range []struct {
		opts storage.ListOptions
		want []string
	}{
		{storage.ListOptions{Limit: 100}, []string{"a", "a/1", "a/2", "a/3", "b", "b/1", "c", "\xff", "\xff\xff"}},
		{storage.ListOptions{Prefix: "a/", Limit: 100}, []string{"a/1", "a/2", "a/3"}},
		{storage.ListOptions{Prefix: "a/", Limit: 2}, []string{"a/1", "a/2"}},
		{storage.ListOptions{Prefix: "a/", Reverse: true, Limit: 2}, []string{"a/3", "a/2"}},
		{storage.ListOptions{Start: "a/2", End: "b/1", Limit: 100}, []string{"a/2", "a/3", "b"}},
		{storage.ListOptions{Start: "b", Reverse: true, Limit: 100}, []string{"\xff\xff", "\xff", "c", "b/1", "b"}},
		{storage.ListOptions{Prefix: "a", Start: "a/3", Limit: 100}, []string{"a/3"}},
		{storage.ListOptions{Prefix: "b", End: "b/", Limit: 100}, []string{"b"}},
		{storage.ListOptions{Prefix: "\xff", Limit: 100}, []string{"\xff", "\xff\xff"}},
		{storage.ListOptions{Start: "z", End: "a", Limit: 100}, []string{}},
		{storage.ListOptions{Prefix: "zz", Limit: 100}, []string{}},
	} {
		got, err := b.List("s", c.opts)
		must(t, err)
		if !reflect.DeepEqual(keys(got), c.want) {
			t.Errorf("List(%+v) = %q, want %q", c.opts, keys(got), c.want)
		}
		for _, kv := range got {
			if string(kv.Value) != "v:"+kv.Key {
				t.Errorf("List(%+v): %q has value %q", c.opts, kv.Key, kv.Value)
			}
		}
	}
}

func testSlots(t *testing.T, b storage.Backend) {
	// Slot names that prefix one another must not see each other's keys.
	commit(t, b, "a", storage.Batch{Puts: []storage.KV{{Key: "bk", Value: []byte("1")}}})
	commit(t, b, "ab", storage.Batch{Puts: []storage.KV{{Key: "k", Value: []byte("2")}}})
	if _, ok, _ := b.Get("a", "bk"); !ok {
		t.Fatal("a/bk missing")
	}
	if _, ok, _ := b.Get("ab", "bk"); ok {
		t.Fatal("slot ab sees slot a's key")
	}
	if _, ok, _ := b.Get("a", "b"+"k"); !ok {
		t.Fatal("lost")
	}
	got, err := b.List("a", storage.ListOptions{Limit: 100})
	must(t, err)
	if !reflect.DeepEqual(keys(got), []string{"bk"}) {
		t.Fatalf("slot a lists %q", keys(got))
	}
}

func testDeleteAll(t *testing.T, b storage.Backend) {
	commit(t, b, "s", storage.Batch{Puts: []storage.KV{{Key: "x", Value: []byte("1")}, {Key: "y", Value: []byte("2")}}})
	commit(t, b, "s2", storage.Batch{Puts: []storage.KV{{Key: "x", Value: []byte("other")}}})
	// A deleteAll and writes after it in one batch: only the writes remain.
	commit(t, b, "s", storage.Batch{DeleteAll: true, Puts: []storage.KV{{Key: "z", Value: []byte("3")}}})
	got, err := b.List("s", storage.ListOptions{Limit: 100})
	must(t, err)
	if !reflect.DeepEqual(keys(got), []string{"z"}) {
		t.Fatalf("after deleteAll: %q", keys(got))
	}
	if v, ok, _ := b.Get("s2", "x"); !ok || string(v) != "other" {
		t.Fatal("deleteAll reached another slot")
	}
}

func testUsage(t *testing.T, b storage.Backend) {
	if u, err := b.Usage("s"); err != nil || u != (storage.Usage{}) {
		t.Fatalf("usage of an empty slot = %+v, %v", u, err)
	}
	commit(t, b, "s", storage.Batch{Puts: []storage.KV{{Key: "x", Value: []byte("1")}}, Usage: storage.Usage{Bytes: 18, Keys: 1}})
	if u, err := b.Usage("s"); err != nil || u != (storage.Usage{Bytes: 18, Keys: 1}) {
		t.Fatalf("usage = %+v, %v", u, err)
	}
	if u, _ := b.Usage("s2"); u != (storage.Usage{}) {
		t.Fatalf("another slot's usage = %+v", u)
	}
	// A batch that keeps the usage (a value replaced by one of its size).
	commit(t, b, "s", storage.Batch{Puts: []storage.KV{{Key: "x", Value: []byte("2")}}, Usage: storage.Usage{Bytes: 18, Keys: 1}, SameUsage: true})
	if u, err := b.Usage("s"); err != nil || u != (storage.Usage{Bytes: 18, Keys: 1}) {
		t.Fatalf("usage after a batch with the same usage = %+v, %v", u, err)
	}
	if v, ok, _ := b.Get("s", "x"); !ok || string(v) != "2" {
		t.Fatalf("the put of a batch with the same usage: %q, %v", v, ok)
	}
}

func testAlarms(t *testing.T, b storage.Backend) {
	if _, ok, err := b.GetAlarm("s"); err != nil || ok {
		t.Fatalf("alarm of a fresh slot: %v, %v", ok, err)
	}
	at := time.UnixMilli(1_900_000_000_123)
	must(t, b.SetAlarm("s", at))
	got, ok, err := b.GetAlarm("s")
	if err != nil || !ok || !got.Equal(at) {
		t.Fatalf("GetAlarm = %v, %v, %v; want %v", got, ok, err, at)
	}
	if _, ok, _ := b.GetAlarm("s2"); ok {
		t.Fatal("alarm seen from another slot")
	}
	must(t, b.SetAlarm("s", at.Add(time.Second)))
	if got, _, _ := b.GetAlarm("s"); !got.Equal(at.Add(time.Second)) {
		t.Fatalf("replaced alarm = %v", got)
	}
	must(t, b.DeleteAlarm("s"))
	if _, ok, _ := b.GetAlarm("s"); ok {
		t.Fatal("deleted alarm still set")
	}
	must(t, b.DeleteAlarm("never"))
	// In a commit, with the turn's other writes.
	commit(t, b, "s", storage.Batch{Puts: []storage.KV{{Key: "k", Value: []byte("v")}}, Alarm: &storage.AlarmChange{At: at}})
	if got, ok, _ := b.GetAlarm("s"); !ok || !got.Equal(at) {
		t.Fatalf("alarm set by a commit = %v, %v", got, ok)
	}
	commit(t, b, "s", storage.Batch{Alarm: &storage.AlarmChange{Delete: true}})
	if _, ok, _ := b.GetAlarm("s"); ok {
		t.Fatal("alarm deleted by a commit still set")
	}
}

func testConcurrent(t *testing.T, b storage.Backend) {
	var wg sync.WaitGroup
	var failed atomic.Value
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot := fmt.Sprint("slot-", g)
			for i := 0; i < 50; i++ {
				if err := b.Commit(slot, &storage.Batch{Puts: []storage.KV{{Key: fmt.Sprint(i), Value: []byte{byte(i)}}}}); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	for g := 0; g < 8; g++ {
		got, err := b.List(fmt.Sprint("slot-", g), storage.ListOptions{Limit: 1000})
		must(t, err)
		if len(got) != 50 {
			t.Fatalf("slot %d holds %d keys, want 50", g, len(got))
		}
	}
}

func testClosed(t *testing.T, b storage.Backend) {
	must(t, b.Close())
	if _, _, err := b.Get("s", "k"); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
	if err := b.Commit("s", &storage.Batch{Puts: []storage.KV{{Key: "k"}}}); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("commit after close: %v", err)
	}
}

// ErrInjected is the failure a Faulty backend returns.
var ErrInjected = errors.New("injected storage failure")

// Faulty wraps a backend; while FailCommits is set, every commit fails
// with ErrInjected and writes nothing.
type Faulty struct {
	storage.Backend
	FailCommits atomic.Bool
	Commits     atomic.Int64 // commits that succeeded
}

// Commit implements storage.Backend.
func (f *Faulty) Commit(slot string, b *storage.Batch) error {
	if f.FailCommits.Load() {
		return ErrInjected
	}
	err := f.Backend.Commit(slot, b)
	if err == nil {
		f.Commits.Add(1)
	}
	return err
}
