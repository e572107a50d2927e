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
	"path/filepath"
	"strings"
	"time"

	"cloister/actor"
	"cloister/internal/debug"
	"cloister/isolate"
	"cloister/supervisor"
)

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	debugAddr := fs.String("debug", "", "serve the debug endpoint on `ADDR` (loopback only)")
	level := fs.String("log-level", "info", "log `LEVEL`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: run takes one manifest or script", errUsage)
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))

	spec, limits, addr, err := loadTarget(fs.Arg(0))
	if err != nil {
		return err
	}
	if *debugAddr != "" {
		addr = *debugAddr
	}
	node, err := actor.NewNode(actor.Options{Logger: log, Limits: limits})
	if err != nil {
		return err
	}
	if err := node.Start(spec); err != nil {
		return err
	}
	log.Info("node started", "target", fs.Arg(0))

	var srv *http.Server
	if addr != "" {
		srv, err = serveDebug(addr, node, log)
		if err != nil {
			_ = node.Shutdown(context.Background())
			return err
		}
	}
	select {
	case <-ctx.Done():
		log.Info("stopping the node")
	case <-node.Failed():
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
	return nil
}

// loadTarget reads a manifest, or wraps a single script in a one_for_one root.
func loadTarget(path string) (actor.ChildSpec, isolate.Limits, string, error) {
	comp := isolate.NewCompiler()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		m, err := supervisor.Load(path)
		if err != nil {
			return actor.ChildSpec{}, isolate.Limits{}, "", err
		}
		spec, err := m.Spec(comp)
		return spec, m.Limits(), m.Debug, err
	}
	s, err := comp.Load(path)
	if err != nil {
		return actor.ChildSpec{}, isolate.Limits{}, "", err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	root := actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(supervisor.DefaultIntensity, supervisor.DefaultPeriod),
		Children: []actor.ChildSpec{{Name: name, Script: s}},
	}
	return root, isolate.Limits{}, "", nil
}

func serveDebug(addr string, node *actor.Node, log *slog.Logger) (*http.Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--debug %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--debug %q: only a loopback address is allowed", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug: %w", err)
	}
	srv := debug.NewServer(node)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug endpoint stopped", "error", err)
		}
	}()
	log.Info("debug endpoint listening", "addr", ln.Addr().String())
	return srv, nil
}
