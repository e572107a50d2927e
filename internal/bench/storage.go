package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/storage/pgstore"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/cockroachdb/pebble/v2"
)

// StorageOptions size the storage benchmark; zero fields take defaults.
type StorageOptions struct {
	Runs   int           // rounds; medians reported (default 7)
	Actors int           // actors committing at once, and goroutines of the baseline (default 64)
	Warmup time.Duration // committing before each measuring window (default 0.5 s)
	Window time.Duration // each side's measuring window in a round (default 1.5 s)
	Gets   int           // get samples, each a call making 1000 gets (default 100)
	// Latency is the number of sequential put turns for the latency figures (default 1000).
	Latency int
	// Dir is where the databases are created, one per side and round
	// (default: the system's temporary directory). Both sides use it, so
	// they sync to the same kind of file system.
	Dir string
	// PostgresURL, when set, measures the same get and turn latency on
	// that PostgreSQL database.
	PostgresURL string
}

// StorageResult is `cloister bench --storage`.
type StorageResult struct {
	Runs     int       `json:"runs"`
	Actors   int       `json:"actors"`
	WarmupS  float64   `json:"warmup_s"`
	WindowS  float64   `json:"window_s"`
	Dir      string    `json:"dir"`
	Cloister []float64 `json:"storage_turns_per_sec_rounds"`
	Raw      []float64 `json:"baseline_storage_commits_per_sec_rounds"`

	TurnsPerSec         float64 `json:"storage_turns_per_sec"`            // median of the rounds
	BaselineCommitsPerS float64 `json:"baseline_storage_commits_per_sec"` // median of the rounds
	// TurnsRatio is the median over rounds of each round's ratio of
	// committed turns to raw commits; goal >= 0.5.
	TurnsRatio    float64 `json:"storage_turns_ratio"`
	TurnsRatioMin float64 `json:"storage_turns_ratio_min"`
	TurnsRatioMax float64 `json:"storage_turns_ratio_max"`
	// The process's CPU time per committed turn and per raw commit
	// (medians): what the ratio turns on when the sync is fast.
	TurnCPUUS           float64 `json:"storage_turn_cpu_us"`
	BaselineCommitCPUUS float64 `json:"baseline_storage_commit_cpu_us"`
	// CPURatio is the median over rounds of each round's raw CPU per
	// commit over CPU per committed turn: the ratio the turns would reach
	// if both sides were bound by CPU alone.
	CPURatio float64 `json:"storage_cpu_ratio"`
	// The share of the GOMAXPROCS CPUs the process used during each
	// side's windows (medians): near 1, a side was bound by CPU; well
	// below, by the disk's syncs.
	TurnCPUBusy     float64 `json:"storage_turn_cpu_busy"`
	BaselineCPUBusy float64 `json:"baseline_storage_cpu_busy"`
	GOMAXPROCS      int     `json:"gomaxprocs"`
	LoadBefore      float64 `json:"load_before"` // 1-minute load average, 0 if unknown
	LoadAfter       float64 `json:"load_after"`
	GetUS           float64 `json:"storage_get_us"` // p50 of the per-get samples
	GetP99US        float64 `json:"storage_get_p99_us"`
	TurnP50MS       float64 `json:"storage_turn_p50_ms"`
	TurnP99MS       float64 `json:"storage_turn_p99_ms"`

	Postgres      bool    `json:"postgres"`
	PgGetUS       float64 `json:"postgres_get_us,omitempty"`
	PgTurnP50MS   float64 `json:"postgres_turn_p50_ms,omitempty"`
	PgTurnP99MS   float64 `json:"postgres_turn_p99_ms,omitempty"`
	PostgresError string  `json:"postgres_error,omitempty"`
}

// getsPerSample is the gets one get sample makes, in one call.
const getsPerSample = 1000

const storageJS = `
export function receive(msg, ctx) {
  switch (msg.type) {
    case "get": { let v; for (let i = 0; i < msg.n; i++) v = ctx.storage.get("k"); return v ?? null; }
    case "put": ctx.storage.put("k", msg.i); return msg.i;
    case "run":
      ctx.storage.put("i", msg.i);
      ctx.self.send({type: "run", i: msg.i + 1});
      return;
  }
}`

func (o StorageOptions) withDefaults() StorageOptions {
	for _, f := range []struct {
		v *int
		d int
	}{{&o.Runs, 7}, {&o.Actors, 64}, {&o.Gets, 100}, {&o.Latency, 1000}} {
		if *f.v <= 0 {
			*f.v = f.d
		}
	}
	if o.Warmup <= 0 {
		o.Warmup = 500 * time.Millisecond
	}
	if o.Window <= 0 {
		o.Window = 1500 * time.Millisecond
	}
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	return o
}

// Storage measures committed storage turns against raw Pebble commits in
// the same run, the cost of a get from JS and the latency of a put turn.
//
// Throughput is measured in rounds. In each round both sides run, one
// after the other (which goes first alternates), each on a fresh database
// in o.Dir opened with the same options: o.Actors writers commit for
// o.Warmup, then the commits completed during the next o.Window are
// counted. The ratio is taken per round, so both figures of a ratio were
// measured a few seconds apart, and the median over rounds is reported.
func Storage(ctx context.Context, o StorageOptions) (*StorageResult, error) {
	o = o.withDefaults()
	r := &StorageResult{Runs: o.Runs, Actors: o.Actors, WarmupS: o.Warmup.Seconds(), WindowS: o.Window.Seconds(), Dir: o.Dir,
		GOMAXPROCS: runtime.GOMAXPROCS(0)}
	var ratios, rawCPU, turnCPU, cpuRatios, rawBusy, turnBusy []float64
	// Both sides run at the GC target a node sets for the process: the
	// raw side of the first round runs before any node exists.
	if _, set := os.LookupEnv("GOGC"); !set {
		defer debug.SetGCPercent(debug.SetGCPercent(actor.DefaultGCPercent))
	}
	r.LoadBefore = loadAvg()
	for round := 0; round < o.Runs; round++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var raw, turns side
		var err error
		sides := []func() error{
			func() (err error) { raw, err = rawPebble(o); return err },
			func() (err error) { turns, err = storageTurns(o); return err },
		}
		if round%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, side := range sides {
			if err = side(); err != nil {
				return nil, err
			}
		}
		r.Raw = append(r.Raw, raw.perSec)
		r.Cloister = append(r.Cloister, turns.perSec)
		ratios = append(ratios, turns.perSec/raw.perSec)
		rawCPU, turnCPU = append(rawCPU, raw.cpuUS), append(turnCPU, turns.cpuUS)
		rawBusy, turnBusy = append(rawBusy, raw.busy), append(turnBusy, turns.busy)
		if turns.cpuUS > 0 {
			cpuRatios = append(cpuRatios, raw.cpuUS/turns.cpuUS)
		}
	}
	r.TurnCPUUS, r.BaselineCommitCPUUS = medianOf(turnCPU), medianOf(rawCPU)
	r.TurnCPUBusy, r.BaselineCPUBusy = medianOf(turnBusy), medianOf(rawBusy)
	if len(cpuRatios) > 0 {
		r.CPURatio = medianOf(cpuRatios)
	}
	r.TurnsPerSec = medianOf(slices.Clone(r.Cloister))
	r.BaselineCommitsPerS = medianOf(slices.Clone(r.Raw))
	r.TurnsRatio = medianOf(slices.Clone(ratios))
	r.TurnsRatioMin, r.TurnsRatioMax = slices.Min(ratios), slices.Max(ratios)
	r.LoadAfter = loadAvg()

	dir, err := os.MkdirTemp(o.Dir, "cloister-bench-storage")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	pb, err := storage.OpenPebble(dir, storage.PebbleOptions{})
	if err != nil {
		return nil, err
	}
	defer pb.Close()
	var lat latency
	if lat, err = storageLatency(pb, o); err != nil {
		return nil, err
	}
	r.GetUS, r.GetP99US, r.TurnP50MS, r.TurnP99MS = lat.getP50, lat.getP99, lat.turnP50, lat.turnP99
	if o.PostgresURL != "" {
		r.Postgres = true
		pg, err := pgstore.Open(ctx, o.PostgresURL, pgstore.Options{Schema: "cloister_bench"})
		if err != nil {
			r.PostgresError = err.Error()
			return r, nil
		}
		defer pg.Close()
		if lat, err = storageLatency(pg, o); err != nil {
			r.PostgresError = err.Error()
		}
		r.PgGetUS, r.PgTurnP50MS, r.PgTurnP99MS = lat.getP50, lat.turnP50, lat.turnP99
	}
	return r, nil
}

// side is one side's figures in one round.
type side struct {
	perSec float64 // commits per second
	cpuUS  float64 // process CPU time per commit, µs; 0 when unknown
	busy   float64 // process CPU time over the window's wall time and GOMAXPROCS; 0 when unknown
}

// window counts what count reports over o.Window, after o.Warmup: per
// second, and the process's CPU time per unit counted.
func window(o StorageOptions, count func() (int64, error)) (side, error) {
	time.Sleep(o.Warmup)
	n0, err := count()
	if err != nil {
		return side{}, err
	}
	t0 := time.Now()
	cpu0, cpuOK := processCPU()
	time.Sleep(o.Window)
	n1, err := count()
	if err != nil {
		return side{}, err
	}
	cpu1, _ := processCPU()
	n, wall := float64(n1-n0), time.Since(t0)
	s := side{perSec: n / wall.Seconds()}
	if cpuOK && n > 0 {
		s.cpuUS = us(cpu1-cpu0) / n
	}
	if cpuOK {
		s.busy = (cpu1 - cpu0).Seconds() / wall.Seconds() / float64(runtime.GOMAXPROCS(0))
	}
	return s, nil
}

// rawPebble is the baseline: o.Actors goroutines each committing synced
// one-put batches to one Pebble database, opened as the backend opens its.
func rawPebble(o StorageOptions) (side, error) {
	dir, err := os.MkdirTemp(o.Dir, "cloister-bench-pebble")
	if err != nil {
		return side{}, err
	}
	defer os.RemoveAll(dir)
	db, err := storage.OpenPebbleDB(dir, storage.PebbleOptions{})
	if err != nil {
		return side{}, err
	}
	defer db.Close()
	var (
		wg        sync.WaitGroup
		stop      atomic.Bool
		committed atomic.Int64
		failed    atomic.Pointer[error]
	)
	for a := 0; a < o.Actors; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []byte("actor-" + strconv.Itoa(a))
			for i := 0; !stop.Load(); i++ {
				b := db.NewBatch()
				_ = b.Set(key, mustMarshal(i), nil)
				err := b.Commit(pebble.Sync)
				_ = b.Close()
				if err != nil {
					failed.Store(&err)
					return
				}
				committed.Add(1)
			}
		}()
	}
	rate, err := window(o, func() (int64, error) {
		if e := failed.Load(); e != nil {
			return 0, *e
		}
		return committed.Load(), nil
	})
	stop.Store(true)
	wg.Wait()
	return rate, err
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

// storageTurns is committed turns per second: o.Actors workers, each
// running one-put turns in a row (each turn sends the next to itself,
// released once the turn has committed). The turns committed are read
// from the database: each turn stores its number.
func storageTurns(o StorageOptions) (side, error) {
	dir, err := os.MkdirTemp(o.Dir, "cloister-bench-storage")
	if err != nil {
		return side{}, err
	}
	defer os.RemoveAll(dir)
	b, err := storage.OpenPebble(dir, storage.PebbleOptions{})
	if err != nil {
		return side{}, err
	}
	defer b.Close()
	return storageTurnsOn(b, o)
}

// storageTurnsOn is storageTurns on backend b.
func storageTurnsOn(b storage.Backend, o StorageOptions) (side, error) {
	n, err := storageNode(b, o.Actors)
	if err != nil {
		return side{}, err
	}
	defer n.Shutdown(context.Background())
	for a := 0; a < o.Actors; a++ {
		c, err := n.Capability("s"+strconv.Itoa(a), capability.Send)
		if err != nil {
			return side{}, err
		}
		if err := n.SendEnvelope(context.Background(), c, mailbox.NewEnvelope(mustMarshal(map[string]any{"type": "run", "i": 1}), nil)); err != nil {
			return side{}, err
		}
	}
	return window(o, func() (int64, error) {
		var sum int64
		for a := 0; a < o.Actors; a++ {
			v, ok, err := b.Get("s"+strconv.Itoa(a), "i")
			if err != nil {
				return 0, err
			}
			if !ok {
				continue
			}
			var i int64
			if err := msgpack.Unmarshal(v, &i); err != nil {
				return 0, fmt.Errorf("storage turns: s%d stored %x: %w", a, v, err)
			}
			sum += i
		}
		return sum, nil
	})
}

type latency struct{ getP50, getP99, turnP50, turnP99 float64 }

// storageLatency measures one worker on b: a get from JS (samples of
// a call making getsPerSample gets, less the median of calls making none,
// per get) and a call whose turn puts one key and commits.
func storageLatency(b storage.Backend, o StorageOptions) (latency, error) {
	var l latency
	n, err := storageNode(b, 1)
	if err != nil {
		return l, err
	}
	defer n.Shutdown(context.Background())
	c, err := n.Capability("s0", capability.Send)
	if err != nil {
		return l, err
	}
	call := func(v []byte) (time.Duration, error) {
		start := time.Now()
		_, err := n.CallEnvelope(context.Background(), c, mailbox.NewEnvelope(v, nil))
		return time.Since(start), err
	}
	if _, err := call(mustMarshal(map[string]any{"type": "put", "i": 1})); err != nil { // the key gets read, now cached
		return l, err
	}
	full, empty := mustMarshal(map[string]any{"type": "get", "n": getsPerSample}), mustMarshal(map[string]any{"type": "get", "n": 0})
	var fulls, empties []float64
	for i := 0; i < o.Gets+5; i++ { // the first 5 of each warm up
		f, err := call(full)
		if err != nil {
			return l, err
		}
		e, err := call(empty)
		if err != nil {
			return l, err
		}
		if i >= 5 {
			fulls, empties = append(fulls, us(f)), append(empties, us(e))
		}
	}
	base := medianOf(empties)
	for i := range fulls {
		fulls[i] = (fulls[i] - base) / getsPerSample
	}
	l.getP50, l.getP99 = percentile(fulls, 0.50), percentile(fulls, 0.99)
	lat := make([]float64, 0, o.Latency)
	for i := 0; i < o.Latency; i++ {
		d, err := call(mustMarshal(map[string]any{"type": "put", "i": i}))
		if err != nil {
			return l, err
		}
		lat = append(lat, float64(d.Nanoseconds())/1e6)
	}
	l.turnP50, l.turnP99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return l, nil
}
