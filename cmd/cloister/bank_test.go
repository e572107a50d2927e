package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/storage"

	"github.com/vmihailenco/msgpack/v5"
)

// envBankChild makes TestBank_Child run `cloister run` in this process:
// the crash-safety test starts the test binary itself as the node it kills.
const envBankChild = "CLOISTER_BANK_CHILD_ARGS"

// TestBank_Child is the node of TestBank_CrashSafety; it does nothing
// unless started by it.
func TestBank_Child(t *testing.T) {
	args := os.Getenv(envBankChild)
	if args == "" {
		t.Skip("the node of TestBank_CrashSafety; runs only as its child process")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := run(ctx, strings.Split(args, "\x1f"), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

var bankAccounts = []string{"a0", "a1", "a2", "a3"}

const bankStart = 1000 // each account's opening balance (examples/bank/bank.js)

// bankAudit reads the stopped node's data and returns the money it
// accounts for (balances plus transfers debited and not yet credited) and
// the transfers credited so far.
func bankAudit(t *testing.T, dir string) (total, credited int64) {
	t.Helper()
	b, err := storage.OpenPebble(dir, storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	num := func(v []byte) int64 {
		var x any
		if err := msgpack.Unmarshal(v, &x); err != nil {
			t.Fatal(err)
		}
		switch n := x.(type) {
		case int64:
			return n
		case int8, int16, int32, uint8, uint16, uint32, uint64, float64:
			var out int64
			fmt.Sscan(fmt.Sprint(n), &out)
			return out
		}
		t.Fatalf("not a number: %#v", x)
		return 0
	}
	applied := make(map[string]bool)
	type pending struct {
		ID     string `msgpack:"id"`
		To     string `msgpack:"to"`
		Amount int64  `msgpack:"amount"`
	}
	var out []pending
	for _, a := range bankAccounts {
		v, ok, err := b.Get(a, "balance")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue // killed before its init committed: it holds its opening balance
		}
		total += num(v)
		ins, err := b.List(a, storage.ListOptions{Prefix: "in/", Limit: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range ins {
			applied[a+"/"+strings.TrimPrefix(kv.Key, "in/")] = true
		}
		credited += int64(len(ins))
		outs, err := b.List(a, storage.ListOptions{Prefix: "out/", Limit: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range outs {
			var p pending
			if err := msgpack.Unmarshal(kv.Value, &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	for _, a := range bankAccounts {
		if v, _, _ := b.Get(a, "balance"); v == nil {
			total += bankStart
		}
	}
	for _, p := range out {
		if !applied[p.To+"/"+p.ID] {
			total += p.Amount // debited, not yet credited: still the bank's
		}
	}
	return total, credited
}

// TestBank_CrashSafety runs the bank example as a separate node process,
// SIGKILLs it at random moments, and checks after every kill that no
// money appeared or vanished: no turn was half applied (a debit without
// its pending transfer, a credit without its record) and no credit was
// released for a debit that was not committed.
func TestBank_CrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a node 20 times")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	app, err := filepath.Abs("../../examples/bank/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	want := int64(len(bankAccounts) * bankStart)
	const kills = 20
	var credited int64
	for i := 0; i < kills; i++ {
		log := &testkit.LockedBuffer{}
		cmd := exec.Command(exe, "-test.run=^TestBank_Child$", "-test.count=1")
		cmd.Env = append(os.Environ(), envBankChild+"="+strings.Join([]string{"run", "--log-level", "info", "--data", data, app}, "\x1f"))
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A random moment: up to 150 ms after the node has opened its
		// storage, so kills land in init, in the resends and among the
		// transfers. (Counted from the process's start, most landed before
		// the storage was open: starting the test binary takes 100-200 ms
		// here.)
		testkit.CheckFor(t, time.Minute, time.Millisecond, func() error {
			if !strings.Contains(log.String(), "storage opened") {
				return fmt.Errorf("the node has not opened its storage\nnode output:\n%s", log)
			}
			return nil
		})
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		total, c := bankAudit(t, data)
		if total != want {
			t.Fatalf("after kill %d the bank holds %d, want %d\nnode output:\n%s", i+1, total, want, log)
		}
		credited = c
	}
	if credited == 0 {
		t.Fatalf("no transfer was credited in %d runs: the test proved nothing", kills)
	}
	t.Logf("%d kills, %d transfers credited, total %d", kills, credited, want)
}
