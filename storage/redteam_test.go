package storage_test

import (
	"bytes"
	"testing"

	"github.com/cloister-rt/cloister/storage"
)

// Hostile-tenant attacks on a Store's buffered writes: what the host
// holds for a turn must be what PendingBytes reports, since that is what
// the isolate charges to the tenant's memory limit.

func redteamStore(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.Open(storage.NewMemory(), "tenant", 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRedteam_TransactionOverwritesAreCharged: inside a transaction every
// overwrite of one key keeps the previous value for the rollback. A tenant
// overwriting one key with fresh 64 KiB values holds all of them; they
// must be charged, or a turn holds gigabytes while charged 64 KiB.
func TestRedteam_TransactionOverwritesAreCharged(t *testing.T) {
	s := redteamStore(t)
	const n, size = 200, 64 << 10
	sp := s.Begin()
	for i := 0; i < n; i++ {
		if err := s.Put("k", bytes.Repeat([]byte{byte(i)}, size)); err != nil {
			t.Fatal(err)
		}
	}
	if got, held := s.PendingBytes(), int64(n*size); got < held {
		t.Fatalf("PendingBytes = %d after %d overwrites of %d bytes in a transaction; the undo log holds at least %d", got, n, size, held)
	}
	s.Release(sp)
	if got := s.PendingBytes(); got > 2*size {
		t.Fatalf("PendingBytes = %d after the transaction closed; one value of %d bytes is pending", got, size)
	}
}

// TestRedteam_TransactionDeleteAllIsCharged: deleteAll inside a
// transaction keeps the writes it dropped for the rollback; filling and
// clearing in a loop must not hide them from the charge.
func TestRedteam_TransactionDeleteAllIsCharged(t *testing.T) {
	s := redteamStore(t)
	const rounds, keys, size = 20, 16, 32 << 10
	sp := s.Begin()
	for r := 0; r < rounds; r++ {
		for k := 0; k < keys; k++ {
			if err := s.Put(string(rune('a'+k)), bytes.Repeat([]byte{byte(r)}, size)); err != nil {
				t.Fatal(err)
			}
		}
		s.DeleteAll()
	}
	if got, held := s.PendingBytes(), int64(rounds*keys*size); got < held {
		t.Fatalf("PendingBytes = %d after %d rounds of fill+deleteAll in a transaction; the undo log holds at least %d", got, rounds, held)
	}
	s.Rollback(sp)
	if got := s.PendingBytes(); got != 0 {
		t.Fatalf("PendingBytes = %d after rolling back everything", got)
	}
}

// TestRedteam_NestedRollbackRestoresCharge: a rollback of an inner
// transaction gives back exactly what it charged.
func TestRedteam_NestedRollbackRestoresCharge(t *testing.T) {
	s := redteamStore(t)
	outer := s.Begin()
	if err := s.Put("k", make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	before := s.PendingBytes()
	inner := s.Begin()
	for i := 0; i < 50; i++ {
		if err := s.Put("k", make([]byte, 1000+i)); err != nil {
			t.Fatal(err)
		}
	}
	s.Rollback(inner)
	if got := s.PendingBytes(); got != before {
		t.Fatalf("PendingBytes = %d after the inner rollback, %d before it", got, before)
	}
	s.Release(outer)
	if got, _, err := s.Get("k"); err != nil || len(got) != 1000 {
		t.Fatalf("after the inner rollback k has %d bytes (%v), want 1000", len(got), err)
	}
}
