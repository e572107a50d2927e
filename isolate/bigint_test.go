package isolate_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// A script that names BigInt has its *, /, %, **, << and >> rewritten
// (isolate/bigint.go); one that does not is compiled as it is. The errors
// goja's operators throw — mixing a Symbol or a BigInt with a number —
// must carry the same message, stack and positions either way.
func TestBigInt_ErrorsKeepTheirPositions(t *testing.T) {
	body := `
function mul(a, b) {
  return a * b;
}
function shift(o) {
  o.x <<= Symbol.iterator;
}
export function receive(msg) {
  const out = [];
  try { mul(Symbol("s"), 2); } catch (e) { out.push(e.stack); }
  try { shift({x: 1}); } catch (e) { out.push(e.stack); }
  try { eval("1 *\n Symbol()"); } catch (e) { out.push(e.stack); }
  return out.join("\n--\n");
}
`
	plain, _ := newIsolate(t, body, isolate.Limits{})
	guarded, _ := newIsolate(t, body+"export const tag = \"BigInt\";\n", isolate.Limits{})
	// The position of each frame is the same; goja also prints its
	// bytecode offset, "(7)", which the guards' calls move.
	pc := regexp.MustCompile(`\(\d+\)\)?$`)
	strip := func(s string) string {
		lines := strings.Split(s, "\n")
		for k, l := range lines {
			lines[k] = pc.ReplaceAllString(l, "")
		}
		return strings.Join(lines, "\n")
	}
	want := strip(answer(t, turn(t, plain, map[string]any{})).(string))
	got := strip(answer(t, turn(t, guarded, map[string]any{})).(string))
	// One difference, on purpose: goja gives the operator of a compound
	// assignment no position of its own, and reports the last part of
	// its right operand (here the "iterator" of Symbol.iterator); the
	// guarded assignment reports its target, where the statement starts.
	want = strings.Replace(want, "at shift (test.js:6:17", "at shift (test.js:6:2", 1)
	if got != want {
		t.Errorf("stacks differ once the operators are guarded:\nguarded:\n%s\nplain:\n%s", got, want)
	}
	for _, w := range []string{"TypeError", "at mul (test.js:3:9", "at shift (test.js:6:2", "at <eval>:1:1"} {
		if !strings.Contains(got, w) {
			t.Errorf("stacks do not name %s:\n%s", w, got)
		}
	}
}

// TestBigInt_OperatorsRefuseBeforeComputing: every guarded operator, in an
// expression, a compound assignment or code made at run time, refuses a
// result past the limit at once, and computes one within it exactly.
func TestBigInt_OperatorsRefuseBeforeComputing(t *testing.T) {
	src := `
function attempt(f) { try { return String(f()); } catch (e) { return e.name + ": " + e.message; } }
export function receive(msg) {
  const o = {x: 3n}, a = [5n];
  let v = 7n;
  return [
    attempt(() => 2n ** 262143n > 0n), attempt(() => 3n ** 170000n),
    attempt(() => (1n << 262143n) > 0n), attempt(() => 1n << 262144n),
    attempt(() => 1n >> -(2n ** 40n)), attempt(() => { v **= 2n ** 63n; }),
    attempt(() => { o.x *= 1n << 262143n; }), attempt(() => { a[0] <<= 2n ** 64n; }),
    attempt(() => ((1n << 131072n) * (1n << 131071n)) > 0n), attempt(() => (1n << 131072n) * (1n << 131072n)),
    attempt(() => BigInt.asIntN(2 ** 40, -5n)), attempt(() => BigInt.asUintN(2 ** 40, 5n)), attempt(() => BigInt.asIntN(64, 2n ** 63n)),
    attempt(() => BigInt("0b" + "1".repeat(262144)) > 0n), attempt(() => BigInt("9".repeat(80000))),
    attempt(() => Function("a", "b", "return a ** b")(2n, 1n << 40n)), attempt(() => eval("let k = 2n; k ** (1n << 40n)")),
    attempt(() => (-1n) ** (2n ** 64n)), attempt(() => 0n << (2n ** 64n)), attempt(() => 2n ** 10n * 3n / 2n % 1000n),
  ].join("\n");
}`
	// What is checked is the refusals, not the time: a generous CPU limit
	// keeps the race detector's slowdown from ending the turn first.
	iso, _ := newIsolate(t, src, isolate.Limits{CPU: time.Minute})
	got := strings.Split(answer(t, turn(t, iso, map[string]any{})).(string), "\n")
	tooBig := "RangeError: Maximum BigInt size exceeded"
	want := []string{"true", tooBig, "true", tooBig, tooBig, tooBig, tooBig, tooBig, "true", tooBig,
		"-5", "5", "-9223372036854775808", "true", tooBig, tooBig, tooBig, "1", "0", "536"}
	if len(got) != len(want) {
		t.Fatalf("got %d answers, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for k := range want {
		if !strings.HasPrefix(got[k], want[k]) {
			t.Errorf("answer %d = %q, want %q", k, got[k], want[k])
		}
	}
}

// BenchmarkNew_BigInt is what binding the BigInt guards costs an isolate
// as it starts: a script that names BigInt against one that does not.
//
//	go test -run '^$' -bench 'New_BigInt' -benchmem ./isolate/
func BenchmarkNew_BigInt(b *testing.B) {
	for _, c := range []struct{ name, src string }{
		{"plain", `export function receive(m) { return m.a * m.b; }`},
		{"bigint", `export function receive(m) { return BigInt(m.a) * 2n; }`},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := isolate.Compile("bench.js", []byte(c.src))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				iso, err := isolate.New(s, isolate.Config{Name: "bench", Host: &fakeHost{}})
				if err != nil {
					b.Fatal(err)
				}
				iso.Close()
			}
		})
	}
}
