package isolate_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/isolate"
)

// maxFuzzScript bounds the scripts FuzzCompile builds: esbuild and goja
// parse a MiB in tens of milliseconds, which keeps the fuzzer busy on
// shapes rather than size; the checker's own byte limit is tested apart.
const maxFuzzScript = 1 << 20

// FuzzCompile: Compile never panics or exhausts the Go stack on any
// script, given as a shape (open × n, middle, close × n) so that deep
// nesting costs the fuzzer a few bytes; it returns a script or a
// *CompileError naming the file, never both or neither.
func FuzzCompile(f *testing.F) {
	for _, s := range []struct {
		open, middle, close string
		n                   uint16
	}{
		{"(", "0", ")", 999},
		{"(", "0", ")", 1001},
		{"[", "", "]", 5000},
		{"-", "x", "", 3000},
		{"()=>", "0", "", 1500},
		{"`${", "x", "}`", 800},
		{"/*(*/(", "0", ")", 1100},
		{"/(/;(", "0", ")", 900},
		{"<T>(", "x", ")", 900},
		{"export let a = (", "0", ");", 500},
		{"", "export function receive(m: number): number { return m }", "", 0},
		{"", "#!/usr/bin/env cloister\nexport function receive() {}", "", 0},
		{"", "import x from './x.js'\nexport function receive() {}", "", 0},
		{"", "export { a as \"b c\" }", "", 0},
	} {
		f.Add(s.open, s.middle, s.close, s.n, false)
		f.Add(s.open, s.middle, s.close, s.n, true)
	}
	for _, glob := range []string{"../testdata/*/*.js", "../testdata/*/*.ts", "../examples/*/*.js", "../examples/*/*.ts"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add("", string(src), "", uint16(0), strings.HasSuffix(p, ".ts"))
		}
	}
	f.Fuzz(func(t *testing.T, open, middle, close string, n uint16, ts bool) {
		if (len(open)+len(close))*int(n)+len(middle) > maxFuzzScript {
			return
		}
		src := strings.Repeat(open, int(n)) + middle + strings.Repeat(close, int(n))
		name := "fuzz.js"
		if ts {
			name = "fuzz.ts"
		}
		s, err := isolate.Compile(name, []byte(src))
		if (s == nil) == (err == nil) {
			t.Fatalf("Compile = %v, %v: want exactly one of a script and an error", s, err)
		}
		if err != nil {
			var ce *isolate.CompileError
			if !errors.As(err, &ce) || ce.File != name || ce.Msg == "" {
				t.Fatalf("Compile error %#v (%v): want a *CompileError naming %s", err, err, name)
			}
		}
	})
}
