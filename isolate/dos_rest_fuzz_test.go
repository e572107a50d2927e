package isolate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// FuzzRestPatterns puts patterns holding object rests in every place the
// rewrite (dos_rest.go) changes, destructures values of every kind from
// them (objects with getters, nested objects, arrays, typed arrays,
// strings, proxies whose traps log, null) and compares the rewritten
// program's result, error and log with goja's; the fuzzer mutates the
// pattern's text from the table's. A nested pattern holding
// a rest is destructured after the pattern around it (a stated
// difference): for those the log is compared as a set, and a thrown
// error by its name, since the outer pattern's later parts ran first.
//
//	go test -run '^$' -fuzz FuzzRestPatterns -fuzztime 2m ./isolate/
var (
	restFuzzPatterns = []string{
		"{a, ...r}", "{a: {b, ...r}}", "[{...r}]", "{a = 1, ...r}", "{x: [y, {...r} = {d: 1}]}",
		"{[k()]: a, ...r}", "{a: {...r} = {q: 1}, b}", "[y, ...[{...r}]]", "{a: [{b, ...r}], ...y}",
	}
	restFuzzValues = []string{
		"{a: 1, b: 2, c: 3}", "{a: {b: 1, c: 2}, x: [5, {e: 1}]}", "logged()", "new Uint8Array([1, 2, 3])",
		"'str'", "[{p: 1}, {q: 2}]", "null", "{}", "proxied()", "{a: [{b: 1, c: 2}], x: [7, undefined]}",
	}
	restFuzzForms = []string{
		"const PAT = V; return REPORT;",
		"let PAT = V; return REPORT;",
		"var PAT = V; return REPORT;",
		"let a, b, y, r; const res = (PAT = V); return typeof res + REPORT;",
		"return (function (PAT) { return REPORT; })(V);",
		"return ((PAT) => REPORT)(V);",
		"for (const PAT of [V]) return REPORT; return 'none';",
		"try { throw V; } catch (PAT) { return REPORT; }",
		"return (function (z, PAT = V) { return REPORT; })(1);",
		"let a, b, y, r; for (PAT of [V]); return REPORT;",
		"return ({ m(PAT) { return REPORT; } }).m(V);",
	}
)

const restFuzzReport = `JSON.stringify([typeof a == "undefined" ? "-" : a, typeof b == "undefined" ? "-" : b, typeof y == "undefined" ? "-" : y, typeof r == "undefined" ? "-" : r]) + " " + log.join()`

// restFuzzSame compares a rewritten program's result with goja's, for
// pattern pat: as a set of log entries and an error's name where the
// pattern nests (a rest in it may be nested).
func restFuzzSame(pat, got, want string) bool {
	if got == want {
		return true
	}
	if strings.Count(pat, "{")+strings.Count(pat, "[") < 2 {
		return false
	}
	norm := func(s string) string {
		if strings.HasPrefix(s, "threw ") {
			return strings.Fields(s)[1]
		}
		k := strings.LastIndexByte(s, ' ')
		log := strings.Split(s[k+1:], ",")
		slices.Sort(log)
		return s[:k] + " " + strings.Join(log, ",")
	}
	return norm(got) == norm(want)
}

func restFuzzProgram(form uint8, pat string, val uint8) string {
	body := strings.NewReplacer("PAT", pat,
		"V", restFuzzValues[int(val)%len(restFuzzValues)], "REPORT", restFuzzReport).
		Replace(restFuzzForms[int(form)%len(restFuzzForms)])
	return fmt.Sprintf(`(() => {
		const log = [];
		const k = () => { log.push("k"); return "a"; };
		const logged = () => ({ get a() { log.push("get a"); return {b: 9, z: 8}; }, get c() { log.push("get c"); return 3; } });
		const proxied = () => new Proxy({a: 1, z: 2}, { ownKeys(t) { log.push("ownKeys"); return Reflect.ownKeys(t); }, get(t, p) { log.push("get " + String(p)); return t[p]; } });
		try { %s } catch (e) { return "threw " + e.name + " | " + log.join(); }
	})()`, body)
}

func FuzzRestPatterns(f *testing.F) {
	for k, p := range restFuzzPatterns {
		f.Add(uint8(k), p, uint8(k))
	}
	i := guardedRuntime(f)
	i.builtins.bindOps()
	plain := goja.New()
	f.Fuzz(func(t *testing.T, form uint8, pat string, val uint8) {
		if len(pat) > 200 || strings.Contains(pat, "PAT") || strings.Contains(pat, "REPORT") {
			return
		}
		prog := restFuzzProgram(form, pat, val)
		// A default may loop: a second each, then it counts as no input.
		stop := time.AfterFunc(time.Second, func() { plain.Interrupt("slow"); i.rt.Interrupt("slow") })
		// goja's parser panics on some malformed patterns (see
		// parseGenerated): not this rewrite's finding.
		panicked := false
		run := func(f func() (goja.Value, error)) (v goja.Value, err error) {
			defer func() {
				if recover() != nil {
					panicked = true
				}
			}()
			return f()
		}
		want, werr := run(func() (goja.Value, error) { return plain.RunString(prog) })
		got, err := run(func() (goja.Value, error) { return runRewritten(i, prog) })
		stop.Stop()
		if panicked {
			return
		}
		plain.ClearInterrupt()
		i.rt.ClearInterrupt()
		var ie *goja.InterruptedError
		if errors.As(werr, &ie) || errors.As(err, &ie) {
			return
		}
		if werr != nil || err != nil {
			if (werr == nil) != (err == nil) {
				t.Fatalf("%s\nrewritten: %v\ngoja:      %v", prog, err, werr)
			}
			return // neither compiles (no pattern, or not one allowed there)
		}
		if !restFuzzSame(pat, got.String(), want.String()) {
			t.Fatalf("%s\nrewritten: %v\ngoja:      %v", prog, got, want)
		}
	})
}

// TestRest_EveryPatternAndForm runs the fuzz target's whole table.
func TestRest_EveryPatternAndForm(t *testing.T) {
	i := guardedRuntime(t)
	i.builtins.bindOps()
	plain := goja.New()
	for form := range restFuzzForms {
		for pat := range restFuzzPatterns {
			for val := range restFuzzValues {
				prog := restFuzzProgram(uint8(form), restFuzzPatterns[pat], uint8(val))
				want, werr := plain.RunString(prog)
				got, err := runRewritten(i, prog)
				if (werr == nil) != (err == nil) {
					t.Fatalf("%s\nrewritten: %v\ngoja:      %v", prog, err, werr)
				}
				if err == nil && !restFuzzSame(restFuzzPatterns[pat], got.String(), want.String()) {
					t.Errorf("%s\nrewritten: %v\ngoja:      %v", prog, got, want)
				}
			}
		}
	}
}
