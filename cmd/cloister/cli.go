package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

const usage = `usage: cloister <command> [arguments]

commands:
  run [flags] <app.yaml | script.js>
                       run a manifest or a single script until SIGINT/SIGTERM
                       (--node NAME: one node of a manifest's cluster)
  dev [flags] <app.yaml | script.js>
                       run, and reload the scripts when their files change
  init [--force] [DIR] write a new application (manifest, TypeScript actors,
                       cloister.d.ts, README) into DIR, "." by default
  check <app.yaml>     validate a manifest and compile its scripts
  ps [flags]           print a running node's process tree
  stop|kill|restart [flags] PATH
                       act on the process at PATH of a running node
  bench [flags]        run the built-in benchmarks (--quick, --noisy, --http, --storage, ...)
  storage [flags] <app.yaml> <process> [prefix]
                       list a process's stored keys in a stopped node's data directory
  cluster certs [flags] DIR
                       write dev certificates and a nats-server.conf for a cluster
  version              print the version of this binary

Flags may come before or after the arguments; "cloister <command> --help"
lists a command's flags.
`

// errUsage marks a command line that could not be understood.
var errUsage = errors.New("bad usage")

// run dispatches a subcommand; the returned error decides the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	case "dev":
		return devCmd(ctx, args[1:], stdout, stderr)
	case "ps":
		return psCmd(ctx, args[1:], stdout, stderr)
	case "init":
		return initCmd(args[1:], stdout, stderr)
	case "check":
		return checkCmd(args[1:], stdout, stderr)
	case "stop", "kill", "restart":
		return operateCmd(ctx, args[0], args[1:], stdout, stderr)
	case "version", "--version":
		return versionCmd(args[1:], stdout)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "storage":
		return storageCmd(args[1:], stdout, stderr)
	case "cluster":
		return clusterCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}
