package main

import (
	"fmt"
	"io"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/manifest"
)

func checkCmd(args []string, stdout, _ io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: check takes one manifest", errUsage)
	}
	app, err := manifest.Open(args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[0])
	reportGoActors(stdout, args[0], app.Root, "")
	return nil
}

// reportGoActors names the Go actors (go: in the manifest): the CLI has
// none registered, so only a program embedding Cloister can run them.
func reportGoActors(w io.Writer, file string, s actor.ChildSpec, path string) {
	if s.Go != "" {
		fmt.Fprintf(w, "%s: note: %s runs the Go actor %q, which a program embedding Cloister must register; cloister run cannot start it\n", file, path, s.Go)
	}
	for _, ch := range s.Children {
		p := ch.Name
		if path != "" {
			p = path + "/" + ch.Name
		}
		reportGoActors(w, file, ch, p)
	}
	if s.Template != nil {
		reportGoActors(w, file, *s.Template, path+" (template)")
	}
}
