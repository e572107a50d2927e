package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// versionCmd prints the version of Cloister this binary was built from:
// the module version (a tag when installed with go install ...@version,
// "(devel)" in a checkout), the commit and whether the tree had changes,
// and the Go toolchain.
func versionCmd(args []string, stdout io.Writer) error {
	if len(args) != 0 {
		return fmt.Errorf("%w: version takes no arguments", errUsage)
	}
	version, revision, modified := "unknown", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	fmt.Fprintf(stdout, "cloister %s", version)
	if revision != "" {
		if len(revision) > 12 {
			revision = revision[:12]
		}
		if modified {
			revision += "+changes"
		}
		fmt.Fprintf(stdout, " (commit %s)", revision)
	}
	fmt.Fprintf(stdout, " %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
