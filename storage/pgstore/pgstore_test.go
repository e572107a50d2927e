package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/storage/pgstore"
	"github.com/cloister-rt/cloister/storage/storagetest"
	"github.com/cloister-rt/cloister/supervisor"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// Environment: CLOISTER_PG_URL names the server to test against;
// CLOISTER_REQUIRE_POSTGRES=1 (set by .ci/run) makes its absence a
// failure rather than a skip.
const (
	envURL     = "CLOISTER_PG_URL"
	envRequire = "CLOISTER_REQUIRE_POSTGRES"
)

func serverURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv(envURL)
	if url == "" {
		if os.Getenv(envRequire) != "" {
			t.Fatalf("%s is set but %s is empty: .ci/run starts a PostgreSQL server and sets it", envRequire, envURL)
		}
		t.Skipf("skipped: no PostgreSQL server (set %s, e.g. \"host=/tmp port=5432 user=postgres\"; .ci/run starts one)", envURL)
	}
	return url
}

var schemas atomic.Int64

// fresh opens the backend on a schema of its own, dropped at the end.
func fresh(t *testing.T, url string) storage.Backend {
	t.Helper()
	ctx := context.Background()
	schema := fmt.Sprintf("cloister_test_%d_%d", os.Getpid(), schemas.Add(1))
	b, err := pgstore.Open(ctx, url, pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := pgstore.Open(ctx, url, pgstore.Options{})
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close()
		if err := admin.Exec(ctx, `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
			t.Error(err)
		}
	})
	return b
}

func TestPostgresConformance(t *testing.T) {
	url := serverURL(t)
	storagetest.Run(t, func(t *testing.T) storage.Backend { return fresh(t, url) })
}

const counterJS = `
export function receive(msg, ctx) {
  const n = (ctx.storage.get("n") ?? 0) + 1;
  ctx.storage.put("n", n);
  return n;
}`

// TestPostgres_Worker: a worker's storage on PostgreSQL outlives its node.
func TestPostgres_Worker(t *testing.T) {
	b := fresh(t, serverURL(t))
	defer b.Close()
	spec := func() actor.ChildSpec {
		return actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: []actor.ChildSpec{
			{Name: "counter", Script: testnode.Script(t, "counter.js", []byte(counterJS)), Storage: true},
		}}
	}
	for run, want := range []int{2, 4} {
		n := testnode.Start(t, actor.Options{Storage: b}, spec())
		var got int
		for i := 0; i < 2; i++ {
			testnode.Call(t, n, "counter", "incr", &got)
		}
		if got != want {
			t.Fatalf("node %d: counter at %d, want %d", run+1, got, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testnode.ShutdownTimeout)
		err := n.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}
