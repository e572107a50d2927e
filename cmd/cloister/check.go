package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/manifest"
)

func checkCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, err := parseFlags(fs, "check <app.yaml>", args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: check takes one manifest", errUsage)
	}
	app, err := manifest.Open(pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", pos[0])
	reportGoActors(stdout, pos[0], app.Root, "", app.Options().Receivers)
	return nil
}

// reportGoActors names the Go actors (go: in the manifest) that the
// manifest itself does not provide (as it provides the http: gateway):
// only a program embedding Cloister can run them.
func reportGoActors(w io.Writer, file string, s actor.ChildSpec, path string, provided map[string]func() actor.Receiver) {
	if _, ok := provided[s.Go]; s.Go != "" && !ok {
		fmt.Fprintf(w, "%s: note: %s runs the Go actor %q, which a program embedding Cloister must register; cloister run cannot start it\n", file, path, s.Go)
	}
	for _, ch := range s.Children {
		p := ch.Name
		if path != "" {
			p = path + "/" + ch.Name
		}
		reportGoActors(w, file, ch, p, provided)
	}
	if s.Template != nil {
		reportGoActors(w, file, *s.Template, path+" (template)", provided)
	}
}
