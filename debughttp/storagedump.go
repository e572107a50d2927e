package debughttp

import (
	"net/http"
	"strconv"

	"github.com/cloister-rt/cloister/storage"
)

// Bounds on GET /debug/processes/{id}/storage.
const (
	defaultStorageEntries = 100
	maxStorageEntries     = 1000
	maxStorageDumpBytes   = 4 << 20 // stored value bytes in one answer
)

// StorageDump is the answer of GET /debug/processes/{id}/storage: a
// read-only page of a worker's committed storage.
type StorageDump struct {
	ID    uint64  `json:"id"`
	Path  string  `json:"path"`
	Usage Storage `json:"usage"`
	// Alarm is the committed alarm in milliseconds since the Unix epoch.
	Alarm   *int64         `json:"alarm"`
	Entries []StorageEntry `json:"entries"`
	// More says the range holds entries past the last one shown: ask
	// again with start set to Next (with reverse, with end set to it).
	More bool   `json:"more"`
	Next string `json:"next,omitempty"`
}

// StorageEntry is one stored key and its value decoded as a message is
// for the state view (a Date as its RFC 3339 time, undefined as null).
type StorageEntry struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// storageDump serves a page of a worker's committed storage, read from the
// backend: what the last committed turn left, never a running turn's
// writes. Query: prefix, start, end, reverse=1, limit (default 100, at
// most 1000); an answer stops early at 4 MiB of values.
func (s *server) storageDump(w http.ResponseWriter, r *http.Request) {
	p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	u, quota, has := p.StorageUsage()
	b := s.cfg.Node.StorageBackend()
	if !has || b == nil {
		fail(w, http.StatusNotFound, "the process has no storage")
		return
	}
	q := r.URL.Query()
	opts := storage.ListOptions{Prefix: q.Get("prefix"), Start: q.Get("start"), End: q.Get("end"),
		Reverse: q.Get("reverse") == "1" || q.Get("reverse") == "true", Limit: defaultStorageEntries}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxStorageEntries {
			fail(w, http.StatusBadRequest, "limit: want an integer from 1 to "+strconv.Itoa(maxStorageEntries))
			return
		}
		opts.Limit = n
	}
	opts, err := opts.Normalize()
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	want := opts.Limit
	opts.Limit++ // one more, to tell whether there are more
	kvs, err := b.List(p.Path(), opts)
	if err != nil {
		fail(w, http.StatusInternalServerError, "reading storage: "+err.Error())
		return
	}
	d := StorageDump{ID: p.ID(), Path: p.Path(), Usage: Storage{Bytes: u.Bytes, Keys: u.Keys, Quota: quota},
		Entries: []StorageEntry{}}
	if at, ok, err := b.GetAlarm(p.Path()); err == nil && ok {
		ms := at.UnixMilli()
		d.Alarm = &ms
	}
	size := 0
	for i, kv := range kvs {
		if i == want || (i > 0 && size+len(kv.Value) > maxStorageDumpBytes) {
			d.More = true
			if d.Next = kv.Key; opts.Reverse {
				d.Next = d.Entries[len(d.Entries)-1].Key
			}
			break
		}
		v, err := toJSONValue(kv.Value)
		if err != nil {
			v = map[string]string{"undecodable": err.Error()}
		}
		size += len(kv.Value)
		d.Entries = append(d.Entries, StorageEntry{Key: kv.Key, Value: v})
	}
	writeJSON(w, http.StatusOK, d)
}
