package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloister-rt/cloister/templates"
)

// initCmd is `cloister init [dir]`: write a new application (a manifest,
// two TypeScript actors, cloister.d.ts, a tsconfig.json and a README) into
// dir, the current directory by default. It writes nothing if a file it
// would write exists, unless --force.
func initCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	force := fs.Bool("force", false, "overwrite files that exist")
	pos, err := parseFlags(fs, "init [--force] [DIR]", args, stdout)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("%w: init takes at most one directory", errUsage)
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	written, err := writeScaffold(dir, *force)
	if err != nil {
		return err
	}
	for _, f := range written {
		fmt.Fprintf(stdout, "created %s\n", f)
	}
	app := filepath.Join(dir, "app.yaml")
	fmt.Fprintf(stdout, "\nnext:\n  cloister check %s\n  cloister dev %s\n", app, app)
	return nil
}

// errExists refuses to overwrite files.
var errExists = errors.New("init: files exist (use --force to overwrite them)")

// writeScaffold writes templates.Scaffold into dir and returns the paths
// written.
func writeScaffold(dir string, force bool) ([]string, error) {
	src := templates.Scaffold()
	var names []string
	if err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	}); err != nil {
		return nil, err
	}
	if !force {
		var exist []string
		for _, n := range names {
			if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
				exist = append(exist, n)
			}
		}
		if len(exist) > 0 {
			return nil, fmt.Errorf("%w: %s in %s", errExists, strings.Join(exist, ", "), dir)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	var written []string
	for _, n := range names {
		b, err := fs.ReadFile(src, n)
		if err != nil {
			return written, err
		}
		dst := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return written, fmt.Errorf("init: %w", err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return written, fmt.Errorf("init: %w", err)
		}
		written = append(written, dst)
	}
	return written, nil
}
