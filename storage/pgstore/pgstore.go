// Package pgstore is the PostgreSQL storage backend: every slot's entries
// in one table keyed by (slot, key), one transaction per commit, usage and
// alarms in a table of slots. It is for nodes that share a database, or
// that want the database's backups and replication.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/storage"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configure the backend.
type Options struct {
	// Schema holds the tables; "" means the connection's search path.
	// It is created when missing.
	Schema string
	// Timeout bounds each operation; 0 means 30 s.
	Timeout time.Duration
}

// Backend is a storage.Backend on PostgreSQL.
type Backend struct {
	pool    *pgxpool.Pool
	kv      string // quoted table names
	slots   string
	timeout time.Duration
	closed  atomic.Bool
}

var _ storage.Backend = (*Backend)(nil)

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to the database at url (a libpq URL or keyword/value
// string) and creates the tables when missing.
func Open(ctx context.Context, url string, o Options) (*Backend, error) {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	prefix := ""
	if o.Schema != "" {
		if !schemaRE.MatchString(o.Schema) {
			return nil, fmt.Errorf("pgstore: schema %q: use lower-case letters, digits and '_'", o.Schema)
		}
		prefix = `"` + o.Schema + `".`
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	b := &Backend{pool: pool, kv: prefix + "cloister_kv", slots: prefix + "cloister_slots", timeout: o.Timeout}
	ddl := []string{
		`CREATE TABLE IF NOT EXISTS ` + b.kv + ` (slot text NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (slot, key))`,
		`CREATE TABLE IF NOT EXISTS ` + b.slots + ` (slot text PRIMARY KEY, bytes bigint NOT NULL DEFAULT 0, keys bigint NOT NULL DEFAULT 0, alarm_ms bigint)`,
	}
	if o.Schema != "" {
		ddl = append([]string{`CREATE SCHEMA IF NOT EXISTS "` + o.Schema + `"`}, ddl...)
	}
	for _, q := range ddl {
		if _, err := pool.Exec(ctx, q); err != nil {
			pool.Close()
			return nil, fmt.Errorf("pgstore: creating the tables: %w", err)
		}
	}
	return b, nil
}

func (b *Backend) ctx() (context.Context, context.CancelFunc, error) {
	if b.closed.Load() {
		return nil, nil, storage.ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	return ctx, cancel, nil
}

// Get implements storage.Backend.
func (b *Backend) Get(slot, key string) ([]byte, bool, error) {
	ctx, cancel, err := b.ctx()
	if err != nil {
		return nil, false, err
	}
	defer cancel()
	var v []byte
	err = b.pool.QueryRow(ctx, `SELECT value FROM `+b.kv+` WHERE slot = $1 AND key = $2`, slot, []byte(key)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// GetMany implements storage.Backend.
func (b *Backend) GetMany(slot string, keys []string) (map[string][]byte, error) {
	ctx, cancel, err := b.ctx()
	if err != nil {
		return nil, err
	}
	defer cancel()
	bk := make([][]byte, len(keys))
	for i, k := range keys {
		bk[i] = []byte(k)
	}
	rows, err := b.pool.Query(ctx, `SELECT key, value FROM `+b.kv+` WHERE slot = $1 AND key = ANY($2)`, slot, bk)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, err
		}
		if v == nil {
			v = []byte{}
		}
		out[string(k)] = v
	}
	return out, rows.Err()
}

// List implements storage.Backend.
func (b *Backend) List(slot string, opts storage.ListOptions) ([]storage.KV, error) {
	ctx, cancel, err := b.ctx()
	if err != nil {
		return nil, err
	}
	defer cancel()
	lo, hi, unbounded := opts.Bounds()
	order := "ASC"
	if opts.Reverse {
		order = "DESC"
	}
	rows, err := b.pool.Query(ctx, `SELECT key, value FROM `+b.kv+` WHERE slot = $1 AND key >= $2 AND ($3 OR key < $4) ORDER BY key `+order+` LIMIT $5`,
		slot, []byte(lo), unbounded, []byte(hi), opts.Limit)
	if err != nil {
		return nil, err
	}
	var out []storage.KV
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, err
		}
		if v == nil {
			v = []byte{}
		}
		out = append(out, storage.KV{Key: string(k), Value: v})
	}
	return out, rows.Err()
}

// Commit implements storage.Backend: one transaction.
func (b *Backend) Commit(slot string, batch *storage.Batch) error {
	ctx, cancel, err := b.ctx()
	if err != nil {
		return err
	}
	defer cancel()
	return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if batch.DeleteAll {
			if _, err := tx.Exec(ctx, `DELETE FROM `+b.kv+` WHERE slot = $1`, slot); err != nil {
				return err
			}
		}
		if len(batch.Deletes) > 0 {
			keys := make([][]byte, len(batch.Deletes))
			for i, k := range batch.Deletes {
				keys[i] = []byte(k)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM `+b.kv+` WHERE slot = $1 AND key = ANY($2)`, slot, keys); err != nil {
				return err
			}
		}
		if len(batch.Puts) > 0 {
			keys, vals := make([][]byte, len(batch.Puts)), make([][]byte, len(batch.Puts))
			for i, kv := range batch.Puts {
				keys[i], vals[i] = []byte(kv.Key), kv.Value
				if vals[i] == nil {
					vals[i] = []byte{}
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+b.kv+` (slot, key, value) SELECT $1, k, v FROM unnest($2::bytea[], $3::bytea[]) AS t(k, v)
				ON CONFLICT (slot, key) DO UPDATE SET value = excluded.value`, slot, keys, vals); err != nil {
				return err
			}
		}
		if !batch.SameUsage {
			if _, err := tx.Exec(ctx, `INSERT INTO `+b.slots+` (slot, bytes, keys) VALUES ($1, $2, $3)
				ON CONFLICT (slot) DO UPDATE SET bytes = excluded.bytes, keys = excluded.keys`, slot, batch.Usage.Bytes, batch.Usage.Keys); err != nil {
				return err
			}
		}
		if a := batch.Alarm; a != nil {
			var ms *int64
			if !a.Delete {
				v := a.At.UnixMilli()
				ms = &v
			}
			if _, err := tx.Exec(ctx, `UPDATE `+b.slots+` SET alarm_ms = $2 WHERE slot = $1`, slot, ms); err != nil {
				return err
			}
		}
		return nil
	})
}

// Usage implements storage.Backend.
func (b *Backend) Usage(slot string) (storage.Usage, error) {
	ctx, cancel, err := b.ctx()
	if err != nil {
		return storage.Usage{}, err
	}
	defer cancel()
	var u storage.Usage
	err = b.pool.QueryRow(ctx, `SELECT bytes, keys FROM `+b.slots+` WHERE slot = $1`, slot).Scan(&u.Bytes, &u.Keys)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Usage{}, nil
	}
	return u, err
}

// GetAlarm implements storage.Backend.
func (b *Backend) GetAlarm(slot string) (time.Time, bool, error) {
	ctx, cancel, err := b.ctx()
	if err != nil {
		return time.Time{}, false, err
	}
	defer cancel()
	var ms *int64
	err = b.pool.QueryRow(ctx, `SELECT alarm_ms FROM `+b.slots+` WHERE slot = $1`, slot).Scan(&ms)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && ms == nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.UnixMilli(*ms), true, nil
}

// SetAlarm implements storage.Backend.
func (b *Backend) SetAlarm(slot string, at time.Time) error {
	ctx, cancel, err := b.ctx()
	if err != nil {
		return err
	}
	defer cancel()
	_, err = b.pool.Exec(ctx, `INSERT INTO `+b.slots+` (slot, alarm_ms) VALUES ($1, $2)
		ON CONFLICT (slot) DO UPDATE SET alarm_ms = excluded.alarm_ms`, slot, at.UnixMilli())
	return err
}

// DeleteAlarm implements storage.Backend.
func (b *Backend) DeleteAlarm(slot string) error {
	ctx, cancel, err := b.ctx()
	if err != nil {
		return err
	}
	defer cancel()
	_, err = b.pool.Exec(ctx, `UPDATE `+b.slots+` SET alarm_ms = NULL WHERE slot = $1`, slot)
	return err
}

// Close implements storage.Backend.
func (b *Backend) Close() error {
	if !b.closed.Swap(true) {
		b.pool.Close()
	}
	return nil
}

// Exec runs one statement; for administration and tests.
func (b *Backend) Exec(ctx context.Context, sql string) error {
	_, err := b.pool.Exec(ctx, sql)
	return err
}
