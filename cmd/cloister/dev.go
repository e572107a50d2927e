package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/manifest"

	"github.com/fsnotify/fsnotify"
)

// devHooks let a test follow a dev session: ready runs once the files are
// watched, event after each change has been handled.
type devHooks struct {
	ready func(*actor.Node)
	event func(devEvent)
}

// devEvent is one change a dev session handled.
type devEvent struct {
	File      string   // the script or manifest that changed, as the manifest names it
	Restarted []string // the processes restarted with its new code
	Unchanged bool     // the file's content is what is running already
	Err       error    // it did not load: the old code keeps running
}

func devCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runDev(ctx, args, stdout, stderr, devHooks{})
}

// runDev is `cloister dev`: run a manifest (or a script) as `run` does,
// watch the manifest and its scripts, and on each change recompile and
// restart the processes that run the changed script through their
// supervisors, with reason code_change; their mailboxes are kept. A script
// that does not compile is reported and the old code keeps running.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, hooks devHooks) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nf := addNodeFlags(fs)
	debounce := fs.Duration("debounce", 100*time.Millisecond, "wait `DURATION` after the last change to a file before reloading")
	pos, err := parseFlags(fs, "dev [flags] <app.yaml | script.js>", args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: dev takes one manifest or script", errUsage)
	}
	if *debounce <= 0 {
		return fmt.Errorf("%w: --debounce must be positive", errUsage)
	}
	app, err := loadTarget(pos[0])
	if err != nil {
		return err
	}
	d := &devSession{target: pos[0], app: app, debounce: *debounce, out: stderr, hooks: hooks,
		reloader: isolate.NewReloader(), files: make(map[string]string), dirs: make(map[string]bool)}
	return nf.runApp(ctx, app, pos[0], stderr, d.run)
}

// devSession watches the files of one dev run.
type devSession struct {
	target   string
	manifest bool // target is a manifest, not a script
	app      *manifest.App
	debounce time.Duration
	out      io.Writer
	hooks    devHooks
	reloader *isolate.Reloader
	node     *actor.Node
	log      *slog.Logger
	watcher  *fsnotify.Watcher

	files map[string]string // absolute path -> the script path as compiled ("" for the manifest)
	dirs  map[string]bool   // directories watched
	shape string            // the manifest's tree without its code; see treeShape
}

// maxDevFiles bounds the files a dev session watches.
const maxDevFiles = 4096

func (d *devSession) run(ctx context.Context, node *actor.Node, log *slog.Logger) error {
	d.node, d.log = node, log
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("dev: watch: %w", err)
	}
	defer w.Close()
	d.watcher = w
	switch strings.ToLower(filepath.Ext(d.target)) {
	case ".yaml", ".yml":
		d.manifest = true
		if err := d.watch(d.target, ""); err != nil {
			return err
		}
		d.shape = treeShape(d.app.Root)
	}
	for _, s := range scriptsOf(d.app.Root) {
		// The reloader learns what runs now, so a save that changes
		// nothing restarts nothing.
		if _, _, err := d.reloader.Load(s); err != nil {
			fmt.Fprintf(d.out, "cloister dev: %v\n", err)
		}
		if err := d.watch(s, s); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.out, "cloister dev: watching %d files; edit and save to reload\n", len(d.files))
	if d.hooks.ready != nil {
		d.hooks.ready(node)
	}

	// Editors save in many ways (write in place, write a temporary file
	// and rename it over the old one, delete and create): the directories
	// are watched, events are matched by file name, and a burst of events
	// is handled once, debounce after its last one.
	pending := make(map[string]bool)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			abs, err := filepath.Abs(ev.Name)
			if err != nil {
				continue
			}
			if _, ok := d.files[abs]; !ok || ev.Op == fsnotify.Chmod {
				continue
			}
			pending[abs] = true
			timer.Reset(d.debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			log.Warn("dev: watching files", "error", err)
		case <-timer.C:
			d.apply(pending)
			clear(pending)
		}
	}
}

// watch adds the file at path (compiled as script, "" for the manifest)
// and watches its directory.
func (d *devSession) watch(path, script string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	if _, ok := d.files[abs]; ok {
		return nil
	}
	if len(d.files) >= maxDevFiles {
		return fmt.Errorf("dev: more than %d files to watch", maxDevFiles)
	}
	d.files[abs] = script
	dir := filepath.Dir(abs)
	if !d.dirs[dir] {
		if err := d.watcher.Add(dir); err != nil {
			return fmt.Errorf("dev: watch %s: %w", dir, err)
		}
		d.dirs[dir] = true
	}
	return nil
}

// apply handles the changed files: the manifest first, then the scripts.
func (d *devSession) apply(changed map[string]bool) {
	var scripts []string
	for abs := range changed {
		if s := d.files[abs]; s != "" {
			scripts = append(scripts, s)
		} else {
			scripts = append(scripts, d.reloadManifest()...)
		}
	}
	slices.Sort(scripts)
	for _, s := range slices.Compact(scripts) {
		d.reloadScript(s)
	}
}

// reloadScript recompiles one script and, if it changed, gives every slot
// that runs it the new code.
func (d *devSession) reloadScript(path string) {
	ev := devEvent{File: path}
	s, changed, err := d.reloader.Load(path)
	switch {
	case err != nil:
		ev.Err = err
		fmt.Fprintf(d.out, "cloister dev: %v\ncloister dev: %s: the old code keeps running\n", err, path)
	case !changed:
		ev.Unchanged = true
	default:
		ev.Restarted = d.codeChange(path, s)
		fmt.Fprintf(d.out, "cloister dev: %s changed: restarted %s (code_change)\n", path, listOrNone(ev.Restarted))
	}
	d.emit(ev)
}

// codeChange gives the slots of path the new code and waits until each
// one it restarted has started its new incarnation (or restartWait has
// passed), so that what is sent after a reload reaches the new code.
func (d *devSession) codeChange(path string, s *isolate.Script) []string {
	var mu sync.Mutex
	seen := make(map[string]bool)
	wake := make(chan struct{}, 1)
	sub := d.node.Subscribe(func(e actor.Event) {
		if st, ok := e.(actor.Started); ok {
			mu.Lock()
			seen[st.Path] = true
			mu.Unlock()
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	defer sub.Close()
	restarted, _ := d.node.CodeChange(path, s)
	timeout := time.NewTimer(restartWait)
	defer timeout.Stop()
	for {
		mu.Lock()
		left := 0
		for _, p := range restarted {
			if !seen[p] {
				left++
			}
		}
		mu.Unlock()
		if left == 0 {
			return restarted
		}
		select {
		case <-wake:
		case <-timeout.C:
			fmt.Fprintf(d.out, "cloister dev: %s: %d processes have not restarted after %v\n", path, left, restartWait)
			return restarted
		}
	}
}

// restartWait bounds how long a reload waits for its restarts.
const restartWait = 30 * time.Second

// reloadManifest reads the manifest again and returns its scripts to
// reload. Only script changes apply to the running tree; any other change
// is reported.
func (d *devSession) reloadManifest() []string {
	ev := devEvent{File: d.target}
	m, err := manifest.Load(d.target)
	var app *manifest.App
	if err == nil {
		app, err = m.App(isolate.NewCompiler())
	}
	if err != nil {
		ev.Err = err
		fmt.Fprintf(d.out, "cloister dev: %v\ncloister dev: %s: the running tree is unchanged\n", err, d.target)
		d.emit(ev)
		return nil
	}
	if shape := treeShape(app.Root); shape != d.shape {
		fmt.Fprintf(d.out, "cloister dev: %s: the tree or its settings changed; only script changes apply live: restart cloister dev to apply the rest\n", d.target)
		d.shape = shape
	}
	scripts := scriptsOf(app.Root)
	for _, s := range scripts {
		if err := d.watch(s, s); err != nil {
			fmt.Fprintf(d.out, "cloister dev: %v\n", err)
		}
	}
	ev.Unchanged = true
	d.emit(ev)
	return scripts
}

func (d *devSession) emit(ev devEvent) {
	if ev.Err != nil {
		d.log.Warn("dev: reload failed", "file", ev.File, "error", ev.Err)
	}
	if d.hooks.event != nil {
		d.hooks.event(ev)
	}
}

func listOrNone(paths []string) string {
	if len(paths) == 0 {
		return "nothing running it"
	}
	return strings.Join(paths, ", ")
}

// scriptsOf lists the script paths of a tree, templates included, sorted.
func scriptsOf(s actor.ChildSpec) []string {
	var out []string
	var walk func(s *actor.ChildSpec, depth int)
	walk = func(s *actor.ChildSpec, depth int) {
		if depth > manifestDepth {
			return
		}
		if s.Script != nil {
			out = append(out, s.Script.Path())
		}
		for k := range s.Children {
			walk(&s.Children[k], depth+1)
		}
		if s.Template != nil {
			walk(s.Template, depth+1)
		}
	}
	walk(&s, 0)
	slices.Sort(out)
	return slices.Compact(out)
}

// manifestDepth bounds the walks over a tree; manifests are far shallower.
const manifestDepth = 256

// treeShape describes a tree without its compiled code: two manifests
// whose shapes are equal differ at most in their scripts' content.
func treeShape(s actor.ChildSpec) string {
	var b strings.Builder
	var walk func(s *actor.ChildSpec, path string, depth int)
	walk = func(s *actor.ChildSpec, path string, depth int) {
		if depth > manifestDepth {
			return
		}
		script := ""
		if s.Script != nil {
			script = s.Script.Path()
		}
		strategy := ""
		if s.Strategy != nil {
			strategy = fmt.Sprintf("%T%+v", s.Strategy, s.Strategy) // plain data: its intensity and period
		}
		fmt.Fprintf(&b, "%s|%s|%s|%x|%+v|%+v|%s|%v|%v|%s|%d\n", path, script, s.Go, s.Args, s.Limits, s.Grants,
			s.Restart, s.Shutdown, s.StartTimeout, strategy, s.MaxChildren)
		fmt.Fprintf(&b, "%+v\n", s.Mailbox)
		for k := range s.Children {
			walk(&s.Children[k], path+"/"+s.Children[k].Name, depth+1)
		}
		if s.Template != nil {
			walk(s.Template, path+"/(template)", depth+1)
		}
	}
	walk(&s, s.Name, 0)
	return b.String()
}
