package storage_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/cloister-rt/cloister/storage"
)

// FuzzPebbleKeys: any slot name and key round-trips, is found by a list of its
// own prefix, and is invisible from a slot whose name extends or prefixes
// its slot's.
func FuzzPebbleKeys(f *testing.F) {
	b, err := storage.OpenPebble(f.TempDir(), storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close() })
	for _, s := range [][3]string{{"a", "k", "v"}, {"", "", ""}, {"a/b", "\xff\xff", "\x00"}, {"\x00", "\xff", "x"}} {
		f.Add(s[0], s[1], []byte(s[2]))
	}
	n := 0
	f.Fuzz(func(t *testing.T, name, key string, value []byte) {
		if len(key) > storage.MaxKeyBytes || len(value) > storage.MaxValueBytes {
			return
		}
		// A slot no other iteration writes, nor any slot built from it below.
		n++
		slot := strconv.Itoa(n) + ":" + name
		if err := b.Commit(slot, &storage.Batch{DeleteAll: true, Puts: []storage.KV{{Key: key, Value: value}}}); err != nil {
			t.Fatal(err)
		}
		v, ok, err := b.Get(slot, key)
		if err != nil || !ok || !bytes.Equal(v, value) {
			t.Fatalf("get(%q, %q) = %q, %v, %v; want %q", slot, key, v, ok, err, value)
		}
		kvs, err := b.List(slot, storage.ListOptions{Prefix: key, Limit: 10})
		if err != nil || len(kvs) != 1 || kvs[0].Key != key {
			t.Fatalf("list(%q, prefix %q) = %q, %v", slot, key, kvs, err)
		}
		for _, other := range []string{slot + "x", slot + "\x00"} {
			if _, ok, _ := b.Get(other, key); ok {
				t.Fatalf("slot %q sees slot %q's key", other, slot)
			}
		}
		if kvs, _ := b.List(slot[:len(slot)-1], storage.ListOptions{Limit: 10}); len(kvs) > 0 {
			t.Fatalf("slot %q lists slot %q's keys", slot[:len(slot)-1], slot)
		}
	})
}
