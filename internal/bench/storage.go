package bench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/storage/pgstore"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/cockroachdb/pebble/v2"
)

// StorageOptions size the storage benchmark; zero fields take defaults.
type StorageOptions struct {
	Runs    int // repetitions, medians reported (default 3)
	Actors  int // actors committing at once (default 64)
	Turns   int // committed turns per actor (default 200)
	Gets    int // gets per measuring call (default 5000)
	Latency int // sequential put turns for the latency figures (default 500)
	// PostgresURL, when set, measures the same get and turn latency on
	// that PostgreSQL database.
	PostgresURL string
}

// StorageResult is `cloister bench --storage`.
type StorageResult struct {
	Runs   int `json:"runs"`
	Actors int `json:"actors"`
	Turns  int `json:"turns_per_actor"`

	TurnsPerSec         float64 `json:"storage_turns_per_sec"`
	BaselineCommitsPerS float64 `json:"baseline_storage_commits_per_sec"`
	TurnsRatio          float64 `json:"storage_turns_ratio"` // TurnsPerSec / BaselineCommitsPerS; goal >= 0.5
	GetUS               float64 `json:"storage_get_us"`
	TurnP50MS           float64 `json:"storage_turn_p50_ms"`
	TurnP99MS           float64 `json:"storage_turn_p99_ms"`

	Postgres      bool    `json:"postgres"`
	PgGetUS       float64 `json:"postgres_get_us,omitempty"`
	PgTurnP50MS   float64 `json:"postgres_turn_p50_ms,omitempty"`
	PgTurnP99MS   float64 `json:"postgres_turn_p99_ms,omitempty"`
	PostgresError string  `json:"postgres_error,omitempty"`
}

const storageJS = `
export function receive(msg, ctx) {
  switch (msg.type) {
    case "get": { let v; for (let i = 0; i < msg.n; i++) v = ctx.storage.get("k"); return v ?? null; }
    case "put": ctx.storage.put("k", msg.i); return msg.i;
    case "run":
      ctx.storage.put("i", msg.i);
      if (msg.i < msg.n) ctx.self.send({type: "run", i: msg.i + 1, n: msg.n});
      return;
  }
}`

func (o StorageOptions) withDefaults() StorageOptions {
	for _, f := range []struct {
		v *int
		d int
	}{{&o.Runs, 3}, {&o.Actors, 64}, {&o.Turns, 200}, {&o.Gets, 5000}, {&o.Latency, 500}} {
		if *f.v <= 0 {
			*f.v = f.d
		}
	}
	return o
}

// Storage measures committed storage turns against raw Pebble commits in
// the same run, the cost of a get from JS and the latency of a put turn.
func Storage(ctx context.Context, o StorageOptions) (*StorageResult, error) {
	o = o.withDefaults()
	r := &StorageResult{Runs: o.Runs, Actors: o.Actors, Turns: o.Turns}
	var err error
	if r.BaselineCommitsPerS, err = median(o.Runs, func() (float64, error) { return rawPebble(o.Actors, o.Turns) }); err != nil {
		return nil, err
	}
	if r.TurnsPerSec, err = median(o.Runs, func() (float64, error) { return storageTurns(o.Actors, o.Turns) }); err != nil {
		return nil, err
	}
	r.TurnsRatio = r.TurnsPerSec / r.BaselineCommitsPerS
	dir, err := os.MkdirTemp("", "cloister-bench-storage")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	pb, err := storage.OpenPebble(dir, storage.PebbleOptions{})
	if err != nil {
		return nil, err
	}
	defer pb.Close()
	if r.GetUS, r.TurnP50MS, r.TurnP99MS, err = storageLatency(pb, o); err != nil {
		return nil, err
	}
	if o.PostgresURL != "" {
		r.Postgres = true
		pg, err := pgstore.Open(ctx, o.PostgresURL, pgstore.Options{Schema: "cloister_bench"})
		if err != nil {
			r.PostgresError = err.Error()
			return r, nil
		}
		defer pg.Close()
		if r.PgGetUS, r.PgTurnP50MS, r.PgTurnP99MS, err = storageLatency(pg, o); err != nil {
			r.PostgresError = err.Error()
		}
	}
	return r, nil
}

// rawPebble is the baseline: actors goroutines each committing turns
// synced one-put batches to one Pebble database.
func rawPebble(actors, turns int) (float64, error) {
	dir, err := os.MkdirTemp("", "cloister-bench-pebble")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cache := pebble.NewCache(64 << 20)
	db, err := pebble.Open(dir, &pebble.Options{Cache: cache, Logger: silentPebble{}})
	cache.Unref()
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var wg sync.WaitGroup
	errs := make(chan error, actors)
	start := time.Now()
	for a := 0; a < actors; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []byte("actor-" + strconv.Itoa(a))
			for i := 0; i < turns; i++ {
				b := db.NewBatch()
				_ = b.Set(key, []byte(strconv.Itoa(i)), nil)
				err := b.Commit(pebble.Sync)
				_ = b.Close()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(actors*turns) / elapsed.Seconds(), nil
}

type silentPebble struct{}

func (silentPebble) Infof(string, ...any)  {}
func (silentPebble) Errorf(string, ...any) {}
func (silentPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// storageNode starts actors storage workers on b.
func storageNode(b storage.Backend, actors int) (*actor.Node, error) {
	n, err := actor.NewNode(actor.Options{Storage: b, Limits: isolate.Limits{CPU: 5 * time.Second}})
	if err != nil {
		return nil, err
	}
	s := compile("store.js", storageJS)
	var children []actor.ChildSpec
	for a := 0; a < actors; a++ {
		children = append(children, actor.ChildSpec{Name: "s" + strconv.Itoa(a), Script: s, Storage: true})
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Second), Children: children}
	if err := n.Start(root); err != nil {
		_ = n.Shutdown(context.Background())
		return nil, err
	}
	return n, nil
}

// storageTurns is committed turns per second: actors workers, each
// running turns one-put turns in a row (each turn sends the next to
// itself, released once the turn has committed).
func storageTurns(actors, turns int) (float64, error) {
	dir, err := os.MkdirTemp("", "cloister-bench-storage")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	b, err := storage.OpenPebble(dir, storage.PebbleOptions{})
	if err != nil {
		return 0, err
	}
	defer b.Close()
	n, err := storageNode(b, actors)
	if err != nil {
		return 0, err
	}
	defer n.Shutdown(context.Background())
	last := mustMarshal(turns)
	start := time.Now()
	for a := 0; a < actors; a++ {
		c, err := n.Capability("s"+strconv.Itoa(a), capability.Send)
		if err != nil {
			return 0, err
		}
		if err := n.SendEnvelope(context.Background(), c, mailbox.NewEnvelope(mustMarshal(map[string]any{"type": "run", "i": 1, "n": turns}), nil)); err != nil {
			return 0, err
		}
	}
	// Done when every actor's last turn is committed.
	deadline := time.Now().Add(5 * time.Minute)
	for a := 0; a < actors; {
		v, ok, err := b.Get("s"+strconv.Itoa(a), "i")
		if err != nil {
			return 0, err
		}
		if ok && string(v) == string(last) {
			a++
			continue
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("storage turns: actor s%d did not finish", a)
		}
		time.Sleep(200 * time.Microsecond)
	}
	return float64(actors*turns) / time.Since(start).Seconds(), nil
}

// storageLatency measures one worker on b: a get from JS (the cost of a
// call making o.Gets gets less that of one making none, per get) and the
// p50 and p99 of a call whose turn puts one key and commits.
func storageLatency(b storage.Backend, o StorageOptions) (getUS, p50, p99 float64, err error) {
	n, err := storageNode(b, 1)
	if err != nil {
		return 0, 0, 0, err
	}
	defer n.Shutdown(context.Background())
	c, err := n.Capability("s0", capability.Send)
	if err != nil {
		return 0, 0, 0, err
	}
	call := func(v any) (time.Duration, error) {
		start := time.Now()
		_, err := n.CallEnvelope(context.Background(), c, mailbox.NewEnvelope(mustMarshal(v), nil))
		return time.Since(start), err
	}
	if _, err := call(map[string]any{"type": "put", "i": 1}); err != nil { // the key gets read, now cached
		return 0, 0, 0, err
	}
	getUS, err = median(o.Runs, func() (float64, error) {
		if _, err := call(map[string]any{"type": "get", "n": o.Gets}); err != nil { // warm
			return 0, err
		}
		full, err := call(map[string]any{"type": "get", "n": o.Gets})
		if err != nil {
			return 0, err
		}
		empty, err := call(map[string]any{"type": "get", "n": 0})
		if err != nil {
			return 0, err
		}
		return us(full-empty) / float64(o.Gets), nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	lat := make([]float64, 0, o.Latency)
	for i := 0; i < o.Latency; i++ {
		d, err := call(map[string]any{"type": "put", "i": i})
		if err != nil {
			return 0, 0, 0, err
		}
		lat = append(lat, float64(d.Microseconds())/1e3)
	}
	sort.Float64s(lat)
	return getUS, lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], nil
}
