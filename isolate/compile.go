package isolate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
	"github.com/evanw/esbuild/pkg/api"
)

// Script is a compiled actor module. It is immutable and shared by every
// actor and incarnation that runs it. Safe for concurrent use.
type Script struct {
	path  string
	prog  *goja.Program
	needs needs // the guards to put in place before it runs (needs.go)
	// opsParam: the module function takes the operators' helper as its
	// parameter (opsparam.go).
	opsParam bool
	// exports are the names the module exports, in the order of its
	// exports object's properties: New reads their values by name rather
	// than listing the object's keys.
	exports []string
}

// Path returns the file the script was compiled from.
func (s *Script) Path() string { return s.path }

// The compiled program is a function expression: esbuild's ES module
// output wrapped in "(function () { ... })", its export clause turned into
// a return of a plain object of the exports. Running the program yields the
// function; calling it runs the module body and returns the exports. No
// global is involved, so a script cannot reach another module's exports.

// sourceMapURL marks the compiled code; the loader answers it with the map
// esbuild produced and refuses everything else, so goja never reads a file.
const sourceMapURL = "cloister:sourcemap"

// shownName is the name a script's own stack traces give it: its file
// name alone, so that no tenant learns where the host keeps its files.
func shownName(name string) string { return filepath.Base(filepath.FromSlash(name)) }

// Compile transforms an ES module or TypeScript source with esbuild and
// compiles it for goja. name is used in errors; stack traces, which the
// script can read, show it as shownName does. Imports are
// refused: an actor runs only the file the operator named.
func Compile(name string, src []byte) (*Script, error) {
	if err := checkSource(string(src), maxScriptBytes); err != nil {
		return nil, &CompileError{File: name, Msg: err.Error()}
	}
	if err := checkUTF8(name, src); err != nil {
		return nil, err
	}
	loader := api.LoaderJS
	if strings.HasSuffix(name, ".ts") || strings.HasSuffix(name, ".mts") {
		loader = api.LoaderTS
	}
	res := api.Build(api.BuildOptions{
		Stdin: &api.StdinOptions{
			Contents:   string(src),
			Sourcefile: shownName(name),
			Loader:     loader,
		},
		Bundle:  true,
		Plugins: []api.Plugin{noImports},
		// ES module output, whose one export clause at the end becomes a
		// plain object (see exportsObject): esbuild's CommonJS output would
		// build a getter per export and six helper closures in every isolate.
		Format:      api.FormatESModule,
		Banner:      map[string]string{"js": "(function () {"},
		Target:      api.ES2020,
		Supported:   map[string]bool{"async-generator": false, "for-await": false},
		Sourcemap:   api.SourceMapExternal,
		Charset:     api.CharsetUTF8,
		Outfile:     "out.js",
		TsconfigRaw: "{}", // never read a tsconfig.json from the host
		// Legal comments stay where they are: esbuild would otherwise move
		// them after the export clause that exportsObject rewrites.
		LegalComments: api.LegalCommentsInline,
		Write:         false,
		LogLevel:      api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		return nil, compileErrorFrom(name, res.Errors[0])
	}
	var code string
	var sm []byte
	for _, f := range res.OutputFiles {
		if strings.HasSuffix(f.Path, ".map") {
			sm = f.Contents
		} else {
			code = string(f.Contents)
		}
	}
	code, exports, err := exportsObjectNames(code)
	if err != nil {
		return nil, &CompileError{File: name, Msg: err.Error()}
	}
	// esbuild ends the code with its own sourceMappingURL comment; goja reads
	// the last one, which is ours.
	code += "\n//# sourceMappingURL=" + sourceMapURL + "\n"
	ast, err := goja.Parse(shownName(name), code, parser.WithSourceMapLoader(func(path string) ([]byte, error) {
		if path == sourceMapURL {
			// A map without mappings (an empty module) is no map: goja's
			// source map reader refuses one.
			var m struct {
				Mappings string `json:"mappings"`
			}
			if json.Unmarshal(sm, &m) != nil || m.Mappings == "" {
				return nil, nil
			}
			return sm, nil
		}
		return nil, errors.New("source maps are not loaded from files")
	}))
	if err != nil {
		return nil, &CompileError{File: name, Msg: err.Error()}
	}
	n := scanNeeds(ast)
	opsParam := false
	if rewriteOps(ast, n&needBigInt != 0) {
		if opsParam = takeOpsParam(ast, n); !opsParam {
			n |= needGlobalOps
		}
	}
	prog, err := goja.CompileAST(ast, true)
	if err != nil {
		return nil, &CompileError{File: name, Msg: err.Error()}
	}
	return &Script{path: name, prog: prog, needs: n, opsParam: opsParam, exports: exports}, nil
}

// exportClause is the statement esbuild ends a bundled ES module with,
// when it exports anything: export { local, local as exported, ... };
var exportClause = regexp.MustCompile(`\nexport \{([^{}]*)\};\s*$`)

// exportsPart is one entry of the clause: identifiers as esbuild writes
// them, which hold no space, quote or punctuation.
var exportsPart = regexp.MustCompile(`^(` + identChars + `)(?:\s+as\s+(` + identChars + `))?$`)

const identChars = "[^\\s,'\"`{}()\\[\\];:=+\\-*/%<>!&|^~?.@#\\\\]+"

// exportsObject turns the export clause that ends esbuild's output into a
// return of a plain object and closes the module function the banner
// opened. The object has no prototype and only own data properties
// (computed keys: a "__proto__" export is a property like any other), so
// looking up the handlers runs no script code. Only the text after the
// module's last statement changes, so the source map still holds.
func exportsObject(code string) (string, error) {
	code, _, err := exportsObjectNames(code)
	return code, err
}

// exportsObjectNames is exportsObject, and the names exported.
func exportsObjectNames(code string) (string, []string, error) {
	var props, names []string
	if loc := exportClause.FindStringSubmatchIndex(code); loc != nil {
		for _, part := range strings.Split(code[loc[2]:loc[3]], ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			m := exportsPart.FindStringSubmatch(part)
			if m == nil {
				return "", nil, fmt.Errorf("unexpected export %q", part)
			}
			local, exported := m[1], m[2]
			if exported == "" {
				exported = local
			}
			props = append(props, fmt.Sprintf("[%q]: %s", exported, local))
			names = append(names, exported)
		}
		code = code[:loc[0]+1]
	}
	code = strings.TrimRight(code, "\n") + "\n"
	return code + "return {" + strings.Join(append([]string{"__proto__: null"}, props...), ", ") + "};\n})", names, nil
}

// noImports refuses every import: an actor runs only the file the operator
// named, and the bundler must never read another file on a script's behalf.
var noImports = api.Plugin{
	Name: "cloister-no-imports",
	Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			return api.OnResolveResult{}, fmt.Errorf("import %q: imports are not supported, an actor runs only its own file", a.Path)
		})
	},
}

func compileErrorFrom(name string, m api.Message) *CompileError {
	e := &CompileError{File: name, Msg: m.Text}
	if m.Location != nil {
		e.Line = m.Location.Line
		e.Column = m.Location.Column + 1
	}
	return e
}

// Compiler compiles script files once and hands out the shared result.
// Safe for concurrent use.
type Compiler struct {
	mu      sync.Mutex
	scripts map[string]*Script
}

// NewCompiler returns an empty compile cache.
func NewCompiler() *Compiler { return &Compiler{scripts: make(map[string]*Script)} }

// Load compiles the file at path, or returns the copy compiled before.
func (c *Compiler) Load(path string) (*Script, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.scripts[abs]; ok {
		return s, nil
	}
	switch filepath.Ext(abs) {
	case ".js", ".mjs", ".ts", ".mts":
	default:
		return nil, &CompileError{File: path, Msg: "a script must be .js, .mjs or .ts"}
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("load script: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &CompileError{File: path, Msg: "not a regular file"}
	}
	if fi.Size() > maxScriptBytes {
		return nil, &CompileError{File: path, Msg: fmt.Sprintf("script is %d bytes, over the limit of %d", fi.Size(), maxScriptBytes)}
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("load script: %w", err)
	}
	s, err := Compile(path, src)
	if err != nil {
		return nil, err
	}
	c.scripts[abs] = s
	return s, nil
}
