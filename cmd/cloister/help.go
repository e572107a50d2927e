package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// errHelp reports that --help was asked for and answered: the command
// exits 0.
var errHelp = errors.New("help shown")

// parseFlags is parseArgs for a subcommand: -h or --help prints the
// command's usage line and every flag on stdout and returns errHelp; a bad
// flag returns errUsage.
func parseFlags(fs *flag.FlagSet, usageLine string, args []string, stdout io.Writer) ([]string, error) {
	fs.Usage = func() {} // the usage goes to stdout, below, and only for --help
	out := fs.Output()
	fs.SetOutput(io.Discard) // a bad flag is reported once, in the error
	pos, err := parseArgs(fs, args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: cloister %s\n", usageLine)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(stdout, "\nflags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			fs.SetOutput(out)
		}
		return nil, errHelp
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	return pos, nil
}
