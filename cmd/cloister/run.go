package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/debughttp"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/manifest"
	"github.com/cloister-rt/cloister/metrics"
)

// nodeFlags are the flags that run and dev share.
type nodeFlags struct {
	debugAddr, debugToken, level *string
	format                       *string
	turnWarning                  *time.Duration
	pgURL, dataDir               *string
	pretouchHeap                 *sizeValue
	// join, when set, joins the node to its cluster (see cluster.go).
	join *clusterNode
}

func addNodeFlags(fs *flag.FlagSet) *nodeFlags {
	nf := &nodeFlags{
		debugAddr:   fs.String("debug", "", "serve the debug endpoint on `ADDR` (loopback unless a token is set)"),
		debugToken:  fs.String("debug-token", "", "bearer `TOKEN` for the debug endpoint (default $"+envDebugToken+", else generated and printed once)"),
		level:       fs.String("log-level", "info", "log `LEVEL`: debug, info, warn or error"),
		format:      fs.String("log-format", "text", "log `FORMAT`: text (key=value) or json (one object a line)"),
		turnWarning: fs.Duration("turn-warning", actor.DefaultTurnWarning, "warn when a turn holds its mailbox longer than `DURATION` (negative: never)"),
		pgURL:       fs.String("postgres", "", "keep storage in the PostgreSQL database at `URL` instead of a data directory"),
		dataDir:     fs.String("data", "", "keep the storage of workers granted it in `DIR` (default: the manifest's data_dir, else "+manifest.DefaultDataDir+" next to it)"),
	}
	nf.pretouchHeap = addPretouchFlag(fs)
	return nf
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nf := addNodeFlags(fs)
	cf := addClusterFlags(fs)
	pos, err := parseFlags(fs, "run [flags] <app.yaml | script.js>", args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: run takes one manifest or script", errUsage)
	}
	app, err := loadTarget(pos[0])
	if err != nil {
		return err
	}
	if app, nf.join, err = cf.prepare(app); err != nil {
		return err
	}
	return nf.runApp(ctx, app, pos[0], stderr, nil)
}

// runApp starts a node for app, with the debug endpoint if one is asked
// for, runs beside (when set) until it returns or the node stops, and
// stops the node in order when ctx ends or the root fails. An operator's
// restart recompiles the process's script from its file (see
// actor.Options.Reload), with reloader.
func (nf *nodeFlags) runApp(ctx context.Context, app *manifest.App, target string, stderr io.Writer,
	beside func(ctx context.Context, node *actor.Node, log *slog.Logger) error) error {
	if err := lazyFreeFor(*nf.pretouchHeap); err != nil {
		return err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*nf.level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	var handler slog.Handler
	switch *nf.format {
	case "text":
		handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv})
	case "json":
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lv})
	default:
		return fmt.Errorf("%w: --log-format %q: text or json", errUsage, *nf.format)
	}
	log := slog.New(handler)
	if nf.join != nil {
		log = log.With("self", nf.join.cfg.Name)
	} else if app.Cluster != nil {
		return fmt.Errorf("%w: %s spreads its tree over a cluster: run each node with cloister run --node NAME", errUsage, target)
	}

	addr := app.Debug
	if *nf.debugAddr != "" {
		addr = *nf.debugAddr
	}
	var dbg *debugListener
	var err error
	if addr != "" {
		// Refuse a bad address or a missing token before anything starts.
		token := *nf.debugToken
		if token == "" {
			token = os.Getenv(envDebugToken)
		}
		if dbg, err = listenDebug(addr, token); err != nil {
			return err
		}
		defer dbg.ln.Close()
	}
	opts := app.Options()
	opts.Logger = log
	opts.TurnWarning = *nf.turnWarning
	opts.Reload = isolate.NewReloader().Reload
	// The node's command tunes the process's collector for it (an
	// operator's GOGC wins); an embedding program decides for itself.
	opts.GCPercent = actor.GCPercentFor(actor.DefaultGCPercent)
	opts.PretouchHeap = int64(*nf.pretouchHeap)
	if opts.Storage, err = openStorage(ctx, app, *nf.dataDir, *nf.pgURL, log); err != nil {
		return err
	}
	if opts.Storage != nil {
		defer opts.Storage.Close() // after the node has stopped
	}
	if nf.join != nil {
		if err := nf.join.dial(&opts, log); err != nil {
			return err
		}
		defer nf.join.close() // after the node has stopped: its last frames go out
	}
	node, err := actor.NewNode(opts)
	if err != nil {
		return err
	}
	if nf.join != nil {
		if err := nf.join.start(node); err != nil {
			return err
		}
	}
	var m *metrics.Metrics
	if dbg != nil {
		m = metrics.New(node) // before Start, so no event is missed
	}
	if over, err := startUntil(ctx, node, app.Root, log); over || err != nil {
		return err
	}
	log.Info("node started", "target", target)

	var srv *http.Server
	if dbg != nil {
		srv = dbg.serve(node, m, log, stderr)
	}
	besideErr := make(chan error, 1)
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if beside != nil {
		go func() { besideErr <- beside(bctx, node, log) }()
	}
	var failed error
	select {
	case <-ctx.Done():
		log.Info("stopping the node")
	case <-node.Failed():
	case failed = <-besideErr:
		beside = nil
	}
	cancel()
	if beside != nil {
		if err := <-besideErr; failed == nil {
			failed = err
		}
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	if err := node.Shutdown(context.Background()); err != nil {
		return err
	}
	if err := node.Wait(); err != nil {
		return err
	}
	log.Info("node stopped")
	return failed
}

// startUntil starts node's tree, and stops it if ctx ends first (a signal
// during a long first start): the child whose init is running finishes it,
// no later child starts, and the node is stopped in order. A start that a
// signal cut short is a clean stop, not an error; over says the node has
// stopped.
func startUntil(ctx context.Context, node *actor.Node, root actor.ChildSpec, log *slog.Logger) (over bool, err error) {
	started := make(chan struct{})
	stopped := make(chan bool)
	go func() {
		select {
		case <-ctx.Done():
			log.Info("stopping the node during its start")
			_ = node.Shutdown(context.Background())
			stopped <- true
		case <-started:
			stopped <- false // a later signal is the caller's to see
		}
	}()
	err = node.Start(root)
	close(started)
	if !<-stopped {
		return false, err
	}
	// The watcher shut the node down, before or after Start returned.
	if err := node.Wait(); err != nil {
		return true, err
	}
	log.Info("node stopped")
	return true, nil
}

// loadTarget reads a manifest, or wraps a single script in a one_for_one root.
func loadTarget(path string) (*manifest.App, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return manifest.Open(path)
	}
	return manifest.OpenScript(path)
}

// envDebugToken names the environment variable that may hold the debug token.
const envDebugToken = "CLOISTER_DEBUG_TOKEN"

// debugListener is the debug endpoint's socket, opened before the node
// starts so that a bad address fails fast.
type debugListener struct {
	ln        net.Listener
	token     string
	generated bool // the token was made up here and must be shown once
	private   bool // beyond loopback: every data route needs the token
	hosts     []string
}

// listenDebug checks addr and opens it. Loopback is open for reading and
// token-guarded for stop/kill/restart; any other address needs a token
// given by the operator, and then every route needs it.
func listenDebug(addr, token string) (*debugListener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--debug %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if !loopback && token == "" {
		return nil, fmt.Errorf("--debug %q: only a loopback address is allowed without a token (--debug-token or $%s)", addr, envDebugToken)
	}
	d := &debugListener{token: token, private: !loopback, hosts: []string{host}}
	if host == "" || (ip != nil && ip.IsUnspecified()) {
		d.hosts = []string{"*"} // every address of the machine; every route needs the token
	}
	if token == "" {
		d.token, d.generated = debughttp.NewToken(), true
	}
	if d.ln, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("--debug: %w", err)
	}
	return d, nil
}

func (d *debugListener) serve(node *actor.Node, m *metrics.Metrics, log *slog.Logger, stderr io.Writer) *http.Server {
	srv := debughttp.NewServer(debughttp.Config{Node: node, Token: d.token, Private: d.private, Metrics: m.Handler(), Logger: log, Hosts: d.hosts})
	go func() {
		if err := srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug endpoint stopped", "error", err)
		}
	}()
	log.Info("debug endpoint listening", "addr", d.ln.Addr().String(), "private", d.private)
	if d.generated {
		// Shown once, not logged: it is the operator's authority over the node.
		fmt.Fprintf(stderr, "cloister: debug token (stop/kill/restart): %s\n", d.token)
	}
	return srv
}
