package isolate

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Reloader compiles script files anew when their content has changed, for
// a development loop or an operator's restart: unlike a Compiler, which
// compiles each file once, it reads the file on every Load and compiles
// it again when its bytes differ from the last Load's. Safe for
// concurrent use.
type Reloader struct {
	mu   sync.Mutex
	last map[string]reloaded // by absolute path
}

type reloaded struct {
	sum    [sha256.Size]byte
	script *Script
}

// NewReloader returns a Reloader that has loaded nothing yet.
func NewReloader() *Reloader { return &Reloader{last: make(map[string]reloaded)} }

// Load reads the script at path and returns it compiled. changed reports
// whether its content differs from what the previous Load of the same file
// read (true on the first Load). A file that does not compile returns the
// *CompileError and leaves the previous result in place.
func (r *Reloader) Load(path string) (s *Script, changed bool, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, false, err
	}
	switch filepath.Ext(abs) {
	case ".js", ".mjs", ".ts", ".mts":
	default:
		return nil, false, &CompileError{File: path, Msg: "a script must be .js, .mjs or .ts"}
	}
	src, err := readScript(path, abs)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(src)
	r.mu.Lock()
	prev, ok := r.last[abs]
	r.mu.Unlock()
	if ok && prev.sum == sum {
		return prev.script, false, nil
	}
	s, err = Compile(path, src)
	if err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	r.last[abs] = reloaded{sum: sum, script: s}
	r.mu.Unlock()
	return s, true, nil
}

// Reload is Load for a script compiled before: what actor.Options.Reload
// takes.
func (r *Reloader) Reload(s *Script) (*Script, error) {
	ns, _, err := r.Load(s.Path())
	return ns, err
}

// readScript reads a script file within the size limit.
func readScript(path, abs string) ([]byte, error) {
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("load script: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load script: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &CompileError{File: path, Msg: "not a regular file"}
	}
	if fi.Size() > maxScriptBytes {
		return nil, &CompileError{File: path, Msg: fmt.Sprintf("script is %d bytes, over the limit of %d", fi.Size(), maxScriptBytes)}
	}
	src, err := io.ReadAll(io.LimitReader(f, maxScriptBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load script: %w", err)
	}
	if len(src) > maxScriptBytes {
		return nil, &CompileError{File: path, Msg: fmt.Sprintf("script is over the limit of %d bytes", maxScriptBytes)}
	}
	return src, nil
}
