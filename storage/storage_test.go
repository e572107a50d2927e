package storage_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/storage/storagetest"
)

func TestMemoryConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Backend { return storage.NewMemory() })
}

func TestPebbleConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		p, err := storage.OpenPebble(t.TempDir(), storage.PebbleOptions{CacheBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return p
	})
}

// TestPebbleReopen: what a commit wrote is there after the database is
// closed and opened again.
func TestPebbleReopen(t *testing.T) {
	dir := t.TempDir()
	p, err := storage.OpenPebble(dir, storage.PebbleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit("/app/x", &storage.Batch{Puts: []storage.KV{{Key: "k", Value: []byte("v")}}, Usage: storage.Usage{Bytes: 18, Keys: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p, err = storage.OpenPebble(dir, storage.PebbleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if v, ok, err := p.Get("/app/x", "k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("after reopen: %q, %v, %v", v, ok, err)
	}
	if u, _ := p.Usage("/app/x"); u != (storage.Usage{Bytes: 18, Keys: 1}) {
		t.Fatalf("usage after reopen: %+v", u)
	}
}

// TestPebbleDiskUsage: the figure grows with what is written, and a
// closed database refuses the question.
func TestPebbleDiskUsage(t *testing.T) {
	p, err := storage.OpenPebble(t.TempDir(), storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	before, err := p.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<10)
	_, _ = rand.Read(big) // incompressible
	for i := range 8 {
		kv := storage.KV{Key: string(rune('a' + i)), Value: big}
		if err := p.Commit("s", &storage.Batch{Puts: []storage.KV{kv}}); err != nil {
			t.Fatal(err)
		}
	}
	after, err := p.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 8*64<<10 {
		t.Fatalf("disk usage went from %d to %d after writing 512 KiB", before, after)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DiskUsage(); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("DiskUsage after Close: %v", err)
	}
}

// TestPebbleConcurrentCommits: commits made at once from many goroutines
// (which the backend groups) all land, each slot's in order, with their
// deleteAll, usage and alarms; a closed backend refuses commits that
// arrive after.
func TestPebbleConcurrentCommits(t *testing.T) {
	p, err := storage.OpenPebble(t.TempDir(), storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	const writers, commits = 32, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot := fmt.Sprintf("w%02d", w)
			for i := range commits {
				b := &storage.Batch{
					Puts:  []storage.KV{{Key: "n", Value: []byte(strconv.Itoa(i))}, {Key: fmt.Sprintf("k%02d", i), Value: []byte(slot)}},
					Usage: storage.Usage{Bytes: int64(i), Keys: int64(i + 2)},
				}
				switch {
				case i == 0:
					b.Puts = append(b.Puts, storage.KV{Key: "stale", Value: []byte("x")})
				case i == commits/2:
					b.DeleteAll = true // removes "stale" and k(i-1)
				default:
					b.Deletes = []string{fmt.Sprintf("k%02d", i-1)}
				}
				if i == commits-1 {
					b.Alarm = &storage.AlarmChange{At: time.UnixMilli(int64(w))}
				}
				if err := p.Commit(slot, b); err != nil {
					errs <- fmt.Errorf("%s commit %d: %w", slot, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range writers {
		slot := fmt.Sprintf("w%02d", w)
		kvs, err := p.List(slot, storage.ListOptions{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("[{k%02d %s} {n %d}]", commits-1, slot, commits-1)
		var got []string
		for _, kv := range kvs {
			got = append(got, fmt.Sprintf("{%s %s}", kv.Key, kv.Value))
		}
		if g := "[" + strings.Join(got, " ") + "]"; g != want {
			t.Fatalf("%s holds %s, want %s", slot, g, want)
		}
		if u, _ := p.Usage(slot); u != (storage.Usage{Bytes: commits - 1, Keys: commits + 1}) {
			t.Fatalf("%s usage %+v", slot, u)
		}
		if at, ok, _ := p.GetAlarm(slot); !ok || at.UnixMilli() != int64(w) {
			t.Fatalf("%s alarm %v %v", slot, at, ok)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit("late", &storage.Batch{Puts: []storage.KV{{Key: "k", Value: []byte("v")}}}); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("commit after Close: %v", err)
	}
}

// TestPebbleLargeConcurrentCommits: commits too large to share one group
// all land too.
func TestPebbleLargeConcurrentCommits(t *testing.T) {
	p, err := storage.OpenPebble(t.TempDir(), storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	big := make([]byte, storage.MaxValueBytes)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := &storage.Batch{}
			for k := range 40 { // 5 MiB a commit
				b.Puts = append(b.Puts, storage.KV{Key: strconv.Itoa(k), Value: big})
			}
			errs <- p.Commit(fmt.Sprint(w), b)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for w := range 16 {
		if kvs, err := p.List(fmt.Sprint(w), storage.ListOptions{Limit: 100}); err != nil || len(kvs) != 40 {
			t.Fatalf("slot %d holds %d entries (%v), want 40", w, len(kvs), err)
		}
	}
}
