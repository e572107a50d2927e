package debughttp

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/actor"
)

// Row is one process of GET /debug/processes: the process table.
type Row struct {
	ID           uint64 `json:"id"`
	Path         string `json:"path"`
	Kind         string `json:"kind"`
	Status       string `json:"status"`
	Script       string `json:"script,omitempty"`
	Strategy     string `json:"strategy,omitempty"`
	Incarnation  uint64 `json:"incarnation"`
	Restarts     uint64 `json:"restarts"`
	MailboxDepth int64  `json:"mailbox_depth"`
	Handled      uint64 `json:"handled"`
	Crashes      int    `json:"crashes"`
	BusyMS       int64  `json:"busy_ms"`      // see actor.Process.Busy
	CPUMicros    int64  `json:"cpu_us"`       // see actor.Process.CPUTime
	MemoryBytes  int64  `json:"memory_bytes"` // see actor.Process.Memory
	TurnHeldMS   int64  `json:"turn_held_ms,omitempty"`
}

// Table is the answer of GET /debug/processes: one page of the processes,
// filtered and sorted as asked, and how many matched.
type Table struct {
	Total     int    `json:"total"`
	Offset    int    `json:"offset"`
	Limit     int    `json:"limit"`
	Sort      string `json:"sort"`
	Order     string `json:"order"`
	Processes []Row  `json:"processes"`
}

// Bounds of the process table's query.
const (
	defaultTableLimit = 100
	maxTableLimit     = 1000
	maxQueryLen       = 256
	maxTreeDepth      = 1024
)

// tableSorts are the columns the table sorts by, and each one's order
// when none is given.
var tableSorts = map[string]string{
	"id": "asc", "path": "asc", "status": "asc", "incarnation": "desc", "restarts": "desc",
	"mailbox": "desc", "handled": "desc", "crashes": "desc", "busy": "desc", "cpu": "desc", "memory": "desc",
}

func rowOf(p *actor.Process) Row {
	r := Row{ID: p.ID(), Path: p.Path(), Kind: p.Kind().String(), Status: p.Status().String(), Script: p.Script(),
		Strategy: p.Strategy(), Incarnation: p.Incarnation(), Restarts: p.Restarts(), MailboxDepth: p.MailboxDepth(),
		Handled: p.Handled(), Crashes: len(p.Crashes()), BusyMS: p.Busy().Milliseconds(),
		CPUMicros: p.CPUTime().Microseconds(), MemoryBytes: p.Memory()}
	if since := p.TurnHeldSince(); !since.IsZero() {
		r.TurnHeldMS = max(1, time.Since(since).Milliseconds())
	}
	return r
}

// table answers GET /debug/processes?q=&status=&sort=&order=&offset=&limit=:
// q keeps the processes whose path or script contains it, status those
// with that status; sort is one of tableSorts; limit is at most 1000.
func (s *server) table(w http.ResponseWriter, r *http.Request) {
	root := s.cfg.Node.Root()
	if root == nil {
		fail(w, http.StatusServiceUnavailable, "node not started")
		return
	}
	q := r.URL.Query()
	query, status := q.Get("q"), q.Get("status")
	if len(query) > maxQueryLen || len(status) > 32 {
		fail(w, http.StatusBadRequest, fmt.Sprintf("q and status are at most %d and 32 bytes", maxQueryLen))
		return
	}
	sortBy := cmp.Or(q.Get("sort"), "id")
	order, ok := tableSorts[sortBy]
	if !ok {
		fail(w, http.StatusBadRequest, "sort: one of id, path, status, incarnation, restarts, mailbox, handled, crashes, busy, cpu, memory")
		return
	}
	order = cmp.Or(q.Get("order"), order)
	if order != "asc" && order != "desc" {
		fail(w, http.StatusBadRequest, "order: asc or desc")
		return
	}
	offset, err1 := queryInt(q.Get("offset"), 0)
	limit, err2 := queryInt(q.Get("limit"), defaultTableLimit)
	if err1 != nil || err2 != nil || limit < 1 || limit > maxTableLimit {
		fail(w, http.StatusBadRequest, fmt.Sprintf("offset and limit are decimal numbers; limit is 1 to %d", maxTableLimit))
		return
	}

	var rows []Row
	type frame struct {
		p     *actor.Process
		depth int
	}
	stack := []frame{{root, 0}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		row := rowOf(f.p)
		if (query == "" || strings.Contains(row.Path, query) || strings.Contains(row.Script, query)) &&
			(status == "" || row.Status == status) {
			rows = append(rows, row)
		}
		if f.depth < maxTreeDepth {
			for _, ch := range f.p.Children() {
				stack = append(stack, frame{ch, f.depth + 1})
			}
		}
	}
	slices.SortFunc(rows, func(a, b Row) int {
		c := compareRows(sortBy, a, b)
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
			if order == "desc" {
				c = -c // ties stay in id order whichever way the column goes
			}
		}
		if order == "desc" {
			return -c
		}
		return c
	})
	page := Table{Total: len(rows), Offset: offset, Limit: limit, Sort: sortBy, Order: order, Processes: []Row{}}
	if offset < len(rows) {
		page.Processes = rows[offset:min(len(rows), offset+limit)]
	}
	writeJSON(w, http.StatusOK, page)
}

func compareRows(by string, a, b Row) int {
	switch by {
	case "path":
		return strings.Compare(a.Path, b.Path)
	case "status":
		return strings.Compare(a.Status, b.Status)
	case "incarnation":
		return cmp.Compare(a.Incarnation, b.Incarnation)
	case "restarts":
		return cmp.Compare(a.Restarts, b.Restarts)
	case "mailbox":
		return cmp.Compare(a.MailboxDepth, b.MailboxDepth)
	case "handled":
		return cmp.Compare(a.Handled, b.Handled)
	case "crashes":
		return cmp.Compare(a.Crashes, b.Crashes)
	case "busy":
		return cmp.Compare(a.BusyMS, b.BusyMS)
	case "cpu":
		return cmp.Compare(a.CPUMicros, b.CPUMicros)
	case "memory":
		return cmp.Compare(a.MemoryBytes, b.MemoryBytes)
	}
	return cmp.Compare(a.ID, b.ID)
}

// queryInt parses a non-negative decimal of at most 9 digits, or returns def for "".
func queryInt(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	if len(s) > 9 {
		return 0, strconv.ErrRange
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || s[0] == '+' {
		return 0, strconv.ErrSyntax
	}
	return n, nil
}
