package isolate_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/vmihailenco/msgpack/v5"
)

// fakeHost records what an isolate asks of its process.
type fakeHost struct {
	mu      sync.Mutex
	sent    []*mailbox.Envelope
	logs    []string
	stopped string
	nextID  uint64
	panicOn string
}

type target struct{ id uint64 }

func (t target) TargetID() uint64 { return t.id }

func (h *fakeHost) Send(c *capability.Capability, msg *mailbox.Envelope) error {
	if h.panicOn == "send" {
		panic("host bug")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, msg)
	return nil
}

func (h *fakeHost) Call(c *capability.Capability, msg *mailbox.Envelope, timeout time.Duration) (uint64, error) {
	h.nextID++
	return h.nextID, nil
}

func (h *fakeHost) SendAfter(c *capability.Capability, msg *mailbox.Envelope, d time.Duration) (uint64, error) {
	h.nextID++
	return h.nextID, nil
}

func (h *fakeHost) StartTimer(d time.Duration) (uint64, error) {
	h.nextID++
	return h.nextID, nil
}

func (h *fakeHost) CancelTimer(uint64) bool { return true }
func (h *fakeHost) Stop(reason string)      { h.stopped = reason }
func (h *fakeHost) Log(level slog.Level, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, msg)
}

func newIsolate(t *testing.T, src string, limits isolate.Limits) (*isolate.Isolate, *fakeHost) {
	t.Helper()
	s, err := isolate.Compile("test.js", []byte(src))
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	h := &fakeHost{}
	iso, err := isolate.New(s, isolate.Config{
		Name: "test", Self: capability.New(target{1}, capability.All), Limits: limits, Host: h,
		Env: []isolate.Grant{{Name: "peer", Cap: capability.New(target{2}, capability.Send)}},
	})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(iso.Close)
	return iso, h
}

func envelope(t *testing.T, v any) *mailbox.Envelope {
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return mailbox.NewEnvelope(b, nil)
}

// turn runs one receive turn that must finish synchronously.
func turn(t *testing.T, iso *isolate.Isolate, msg any) isolate.Outcome {
	t.Helper()
	var out *isolate.Outcome
	iso.Receive(envelope(t, msg), true, func(o isolate.Outcome) { out = &o })
	if out == nil {
		t.Fatal("turn did not finish")
	}
	return *out
}

func answer(t *testing.T, o isolate.Outcome) any {
	t.Helper()
	if o.Crash != nil || o.ReplyErr != nil {
		t.Fatalf("turn failed: crash=%v replyErr=%v", o.Crash, o.ReplyErr)
	}
	var v any
	if err := msgpack.Unmarshal(o.Reply.Data(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// evalJS is a script whose receive evaluates msg.code with indirect eval
// and answers with the result or the error's name and message.
const evalJS = `
export function receive(msg, ctx) {
  try { return String((0, eval)(msg.code)); }
  catch (e) { return "threw " + e.name + ": " + e.message; }
}`

func TestIsolate_GlobalsAreNotShared(t *testing.T) {
	a, _ := newIsolate(t, evalJS, isolate.Limits{})
	b, _ := newIsolate(t, evalJS, isolate.Limits{})
	answer(t, turn(t, a, map[string]any{"code": `Object.prototype.polluted = 1; Array.prototype.push = null; globalThis.leak = 2; JSON.parse = null; "done"`}))
	got := answer(t, turn(t, b, map[string]any{"code": `[typeof ({}).polluted, typeof [].push, typeof leak, typeof JSON.parse].join(",")`}))
	if got != "undefined,function,undefined,function" {
		t.Fatalf("second isolate sees the first's changes: %v", got)
	}
}

func TestIsolate_NoAmbientAuthority(t *testing.T) {
	iso, _ := newIsolate(t, evalJS, isolate.Limits{})
	for _, code := range []string{
		`typeof require`, `typeof process`, `typeof module`, `typeof exports`, `typeof fetch`,
		`typeof send`,
	} {
		if got := answer(t, turn(t, iso, map[string]any{"code": code})); got != "undefined" {
			t.Errorf("%s = %v, want undefined", code, got)
		}
	}
}

func TestIsolate_HostObjectsExposeNoGo(t *testing.T) {
	iso, _ := newIsolate(t, `
export function receive(msg, ctx) {
  const out = [];
  const probe = (label, f) => { try { out.push(label + "=" + f()); } catch (e) { out.push(label + "!" + e.name); } };
  probe("keys", () => Object.getOwnPropertyNames(ctx.self).join("|"));
  probe("json", () => JSON.stringify(ctx.self));
  probe("spread", () => JSON.stringify({...ctx.self}));
  probe("ctor", () => ctx.self.constructor.constructor("return typeof this.require")());
  probe("sendctor", () => ctx.self.send.constructor("return 1")());
  probe("proto", () => Object.getOwnPropertyNames(Object.getPrototypeOf(ctx.env.peer)).length > 0);
  probe("set", () => { ctx.self.rights = ["kill"]; return ctx.self.rights.join(","); });
  probe("fnprops", () => Object.getOwnPropertyNames(ctx.self.send).sort().join("|"));
  probe("fake", () => { const fake = Object.create(Object.getPrototypeOf(ctx.self)); fake.send = ctx.self.send; fake.send({}); return "sent"; });
  probe("call", () => { ctx.self.send.call({}, {}); return "sent"; });
  probe("attenuate", () => ctx.env.peer.attenuate(["send", "kill"]));
  probe("envfrozen", () => { ctx.env.other = ctx.self; return String(ctx.env.other); });
  return out.join("\n");
}`, isolate.Limits{})
	got := answer(t, turn(t, iso, map[string]any{})).(string)
	for _, want := range []string{
		"keys=\n", "json={}", "spread={}", "ctor=undefined", "sendctor=1", "set!TypeError", "envfrozen!TypeError",
		"fnprops=length|name", "fake!TypeError", "call!TypeError", "attenuate!CapabilityError",
	} {
		if !strings.Contains(got+"\n", want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestIsolate_CPULimitInterruptsLoop(t *testing.T) {
	iso, _ := newIsolate(t, `export function receive() { while (true) {} }`, isolate.Limits{CPU: 10 * time.Millisecond})
	var o isolate.Outcome
	used, clocked := cpuOf(t, func() { o = turn(t, iso, map[string]any{}) })
	if !errors.Is(o.Crash, isolate.ErrCPULimit) {
		t.Fatalf("crash = %v, want cpu_limit", o.Crash)
	}
	// A bound in CPU time, far from the limit: how close the interrupt
	// comes is measured by BenchmarkLimits_CPUOvershoot.
	if clocked && used > 2*time.Second {
		t.Fatalf("a loop under a 10ms CPU limit used %v of CPU before it was interrupted", used)
	}
}

func TestIsolate_StackLimits(t *testing.T) {
	for name, code := range map[string]string{
		"recursion":         `function f() { return f() + 1; } f()`,
		"toString":          `const o = {}; o.toString = () => String(o); String(o)`,
		"getter":            `const o = { get x() { return this.x; } }; o.x`,
		"valueOf via array": `const a = []; a.join = () => a.toString(); a.toString = () => a.join(); String(a)`,
	} {
		t.Run(name, func(t *testing.T) {
			iso, _ := newIsolate(t, evalJS, isolate.Limits{})
			o := turn(t, iso, map[string]any{"code": code})
			if o.Crash == nil && !strings.Contains(fmt.Sprint(answer(t, o)), "RangeError") {
				t.Fatalf("unbounded recursion did not fail: %v", answer(t, o))
			}
		})
	}
}

func TestIsolate_DeepSourceIsRefusedAtEveryParseEntryPoint(t *testing.T) {
	iso, _ := newIsolate(t, `
export function receive(msg) {
  const deep = msg.open.repeat(msg.n) + "1" + msg.close.repeat(msg.n);
  const entries = {
    eval: () => (0, eval)(deep),
    directEval: () => eval(deep),
    Function: () => Function("return " + deep),
    newFunction: () => new Function("return " + deep),
    ctor: () => (function(){}).constructor("return " + deep),
    asyncCtor: () => (async function(){}).constructor("return " + deep),
    genCtor: () => (function*(){}).constructor("return " + deep),
  };
  const out = [];
  for (const [k, f] of Object.entries(entries)) {
    try { f(); out.push(k + ":ok"); } catch (e) { out.push(k + ":" + e.name); }
  }
  return out.join(",");
}`, isolate.Limits{CPU: 5 * time.Second})
	for _, shape := range []struct{ open, close string }{{"[", "]"}, {"(", ")"}, {"!", ""}, {"a=>", ""}, {"-", ""}, {"typeof ", ""}} {
		got := answer(t, turn(t, iso, map[string]any{"open": shape.open, "close": shape.close, "n": 300000})).(string)
		if strings.Contains(got, ":ok") {
			t.Errorf("%q nested 300000 deep was compiled: %s", shape.open, got)
		}
	}
	// Ordinary code still compiles through every entry point.
	got := answer(t, turn(t, iso, map[string]any{"open": "(", "close": ")", "n": 10})).(string)
	if strings.Count(got, ":ok") != 7 {
		t.Errorf("shallow code refused: %s", got)
	}
}

func TestIsolate_EvalDoesNotReadSourceMapsFromFiles(t *testing.T) {
	iso, _ := newIsolate(t, evalJS, isolate.Limits{CPU: 2 * time.Second})
	// With goja's default loader this would read /dev/zero forever.
	done := make(chan isolate.Outcome, 1)
	go func() {
		var out isolate.Outcome
		iso.Receive(envelope(t, map[string]any{"code": "1+1\n//# sourceMappingURL=/dev/zero"}), true, func(o isolate.Outcome) { out = o })
		done <- out
	}()
	select {
	case o := <-done:
		if got := answer(t, o); got != "2" {
			t.Fatalf("eval = %v, want 2", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("eval read a source map file")
	}
}

func TestIsolate_HostPanicBecomesACrash(t *testing.T) {
	iso, h := newIsolate(t, `export function receive(msg, ctx) { ctx.self.send({}); }`, isolate.Limits{})
	h.panicOn = "send"
	o := turn(t, iso, map[string]any{})
	var pe *isolate.PanicError
	if !errors.As(o.Crash, &pe) {
		t.Fatalf("crash = %v, want a PanicError", o.Crash)
	}
}

func TestIsolate_ThrownValuesAreDescribedSafely(t *testing.T) {
	iso, _ := newIsolate(t, `
export function receive(msg) {
  if (msg.kind === "getter") throw { get name() { while (true) {} } };
  if (msg.kind === "string") throw "plain";
  if (msg.kind === "error") throw new TypeError("typed");
}`, isolate.Limits{CPU: 20 * time.Millisecond})
	for kind, want := range map[string]string{"getter": "", "string": "uncaught plain", "error": "TypeError: typed"} {
		o := turn(t, iso, map[string]any{"kind": kind})
		if o.Crash == nil {
			t.Fatalf("%s: no crash", kind)
		}
		if want != "" && o.Crash.Error() != want {
			t.Errorf("%s: crash = %q, want %q", kind, o.Crash.Error(), want)
		}
	}
}

func TestIsolate_AsyncTurnSettlesLater(t *testing.T) {
	iso, _ := newIsolate(t, `
export async function receive(msg, ctx) {
  const v = await ctx.env.peer.call({q: 1});
  return v * 2;
}`, isolate.Limits{})
	var out *isolate.Outcome
	iso.Receive(envelope(t, map[string]any{}), true, func(o isolate.Outcome) { out = &o })
	if out != nil || !iso.Busy() {
		t.Fatal("turn finished before its call was answered")
	}
	if err := iso.SettleCall(1, envelope(t, 21), nil); err != nil {
		t.Fatal(err)
	}
	if out == nil {
		t.Fatal("turn did not finish after the reply")
	}
	if got := answer(t, *out); got != int8(42) && fmt.Sprint(got) != "42" {
		t.Fatalf("answer = %v, want 42", got)
	}
}

func TestCompile_ErrorsNameFileLineColumn(t *testing.T) {
	for name, tc := range map[string]struct{ file, src, want string }{
		"syntax":    {"bad.js", "export function receive() {\n  let x = ;\n}", "bad.js:2:"},
		"ts":        {"bad.ts", "export function receive(x: number {\n}", "bad.ts:1:"},
		"import":    {"imp.js", "import fs from 'fs';\nexport function receive() {}", "imports are not supported"},
		"noReceive": {"none.js", "export function init() {}", "receive"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := isolate.Compile(tc.file, []byte(tc.src))
			if err == nil {
				_, err = isolate.New(s, isolate.Config{Name: "x", Host: &fakeHost{}})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestCompile_TypeScriptStackMapsToSourceLines(t *testing.T) {
	src := "interface M { type: string }\n\n\nexport function receive(msg: M): number {\n  throw new Error(\"line five\");\n}\n"
	s, err := isolate.Compile("app.ts", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	iso, err := isolate.New(s, isolate.Config{Name: "x", Host: &fakeHost{}})
	if err != nil {
		t.Fatal(err)
	}
	o := turn(t, iso, map[string]any{})
	var je *isolate.JSError
	if !errors.As(o.Crash, &je) || !strings.Contains(je.Stack, "app.ts:5:") {
		t.Fatalf("stack does not point at app.ts:5: %v", o.Crash)
	}
}

func TestCompiler_CachesAndChecksFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.js")
	if err := os.WriteFile(path, []byte("export function receive() {}"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := isolate.NewCompiler()
	s1, err := c.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := c.Load(path)
	if s1 != s2 {
		t.Error("the same script was compiled twice")
	}
	if _, err := c.Load(filepath.Join(dir, "missing.js")); err == nil {
		t.Error("missing file loaded")
	}
	if _, err := c.Load("/etc/hostname"); err == nil {
		t.Error("a non-script extension loaded")
	}
}
