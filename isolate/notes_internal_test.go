package isolate

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/internal/testkit"
)

// TestNotes_OnlyTheHostsNotificationsAreNotifications: ctx.isNotification
// is true for the objects Notify made and for nothing a script can build,
// and the host's set of them forgets the ones the script dropped.
func TestNotes_OnlyTheHostsNotificationsAreNotifications(t *testing.T) {
	s, err := Compile("notes.js", []byte(`
let kept;
export function receive(msg, ctx) {
  if (msg && msg.type === "exit") { if (msg.from === "keep") kept = msg; return; }
  const copy = Object.freeze({ ...kept });
  return [ctx.isNotification(kept), ctx.isNotification(copy), ctx.isNotification({}),
    ctx.isNotification(Object.create(kept)), ctx.isNotification(1)].join();
}`))
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(s, Config{Name: "notes", Host: acctHost{}})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	notify := func(from string) {
		t.Helper()
		var out *Outcome
		i.Notify(Notification{Kind: "exit", From: from, Reason: "normal"}, func(o Outcome) { out = &o })
		if out == nil || out.Crash != nil {
			t.Fatalf("notify: %+v", out)
		}
	}
	notify("keep")
	for k := 0; k < 500; k++ {
		notify(fmt.Sprint("drop", k))
	}
	var got string
	i.Receive(nil, true, func(o Outcome) {
		if o.Crash != nil || o.Reply == nil {
			t.Fatalf("check turn: %+v", o)
		}
		got = fmt.Sprintf("%x", o.Reply.Data())
	})
	// msgpack of the string "true,false,false,false,false"
	if want := fmt.Sprintf("%x", append([]byte{0xbc}, "true,false,false,false,false"...)); got != want {
		t.Errorf("isNotification answers %s, want %s", got, want)
	}
	testkit.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		runtime.GC()
		notify("drop")
		if n := len(i.sig.notes.m); n > 100 {
			return fmt.Errorf("%d notifications held after 502 made, 1 kept", n)
		}
		return nil
	})
}
