package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

const usage = `usage: cloister <command> [arguments]

commands:
  run [--debug ADDR] [--debug-token TOKEN] [--log-level LEVEL] <app.yaml | script.js>
                       run a manifest or a single script until SIGINT/SIGTERM
  check <app.yaml>     validate a manifest and compile its scripts
  ps [--addr ADDR] [--json] [--token TOKEN]
                       print a running node's process tree
  bench [--json]       run the built-in benchmarks
  storage [--data DIR] [--values] <app.yaml> <process> [prefix]
                       list a process's stored keys in a stopped node's data directory
`

// errUsage marks a command line that could not be understood.
var errUsage = errors.New("bad usage")

// run dispatches a subcommand; the returned error decides the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	case "ps":
		return psCmd(ctx, args[1:], stdout, stderr)
	case "check":
		return checkCmd(args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "storage":
		return storageCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}
