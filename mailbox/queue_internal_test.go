package mailbox

import (
	"slices"
	"testing"
)

// drain pops everything left.
func drain(q *Queue[string]) []string {
	var out []string
	for {
		v, ok := q.Pop()
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

func TestQueue_Order(t *testing.T) {
	tests := []struct {
		name string
		ops  string // m: push message, n: push notice, d: drop oldest
		want []string
	}{
		{"empty", "", nil},
		{"messages in order", "mmm", []string{"m1", "m2", "m3"}},
		{"notices among messages", "mnmn", []string{"m1", "n2", "m3", "n4"}},
		{"drop takes the oldest message", "mmmd", []string{"m2", "m3"}},
		{"drop skips the notices ahead", "nnmmd", []string{"n1", "n2", "m4"}},
		{"drop with only notices drops nothing", "nnd", []string{"n1", "n2"}},
		{"drop on empty", "dm", []string{"m2"}},
		{"drops interleaved", "mnmdmnd", []string{"n2", "m5", "n6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q Queue[string]
			for i, op := range tt.ops {
				id := string(op) + string(rune('0'+i+1))
				switch op {
				case 'm':
					q.PushMessage(id)
				case 'n':
					q.PushNotice(id)
				case 'd':
					q.DropOldest()
				}
			}
			if got, want := q.Len(), len(tt.want); got != want {
				t.Errorf("Len = %d, want %d", got, want)
			}
			if got := drain(&q); !slices.Equal(got, tt.want) {
				t.Errorf("popped %v, want %v", got, tt.want)
			}
		})
	}
}

// DropOldest moves no element, however many notices wait ahead of the
// oldest message, and the kept messages stay in order: it is O(1), not a
// splice of the slice.
func TestQueue_DropOldestIsConstantTime(t *testing.T) {
	const notices, messages = 1000, 5000
	var q Queue[int]
	for i := range notices {
		q.PushNotice(-i - 1)
	}
	for i := range messages {
		q.PushMessage(i)
	}
	moved := q.msgs.moved + q.notes.moved
	// Growth by doubling copies fewer than two slots per push.
	if moved >= 2*(notices+messages) {
		t.Fatalf("pushing %d moved %d slots", notices+messages, moved)
	}
	for i := range messages - 10 {
		v, ok := q.DropOldest()
		if !ok || v != i {
			t.Fatalf("drop %d = %d, %v; want %d", i, v, ok, i)
		}
	}
	if got := q.msgs.moved + q.notes.moved; got != moved {
		t.Errorf("dropping moved %d slots, want none", got-moved)
	}
	var got []int
	for {
		v, ok := q.Pop()
		if !ok {
			break
		}
		got = append(got, v)
	}
	if len(got) != notices+10 || got[0] != -1 || got[notices-1] != -notices || got[notices] != messages-10 || got[len(got)-1] != messages-1 {
		t.Errorf("after the drops: %d left, first %d, last %d", len(got), got[0], got[len(got)-1])
	}
}

func TestQueue_WrapsAround(t *testing.T) {
	var q Queue[int]
	next, want := 0, 0
	// Keep a few waiting while many pass through: the ring wraps without growing.
	for range 1000 {
		q.PushMessage(next)
		next++
		if q.Len() > 5 {
			v, _ := q.Pop()
			if v != want {
				t.Fatalf("popped %d, want %d", v, want)
			}
			want++
		}
	}
	if got := q.msgs.capacity(); got != 8 {
		t.Errorf("capacity %d after steady traffic of 6, want 8", got)
	}
}

func TestQueue_LetsABurstGo(t *testing.T) {
	var q Queue[int]
	for i := range 10 * keepCap {
		q.PushMessage(i)
	}
	drain := func() {
		for {
			if _, ok := q.Pop(); !ok {
				return
			}
		}
	}
	drain()
	if got := q.msgs.capacity(); got != 0 {
		t.Errorf("an emptied queue keeps %d slots after a burst", got)
	}
	q.PushMessage(1)
	q.Reset()
	if q.Len() != 0 {
		t.Errorf("Len after Reset = %d", q.Len())
	}
}
