package storage_test

import (
	"crypto/rand"
	"errors"
	"testing"

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
