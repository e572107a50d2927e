package main

import (
	"fmt"
	"io"

	"github.com/cloister-rt/cloister/manifest"
)

func checkCmd(args []string, stdout, _ io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: check takes one manifest", errUsage)
	}
	if _, err := manifest.Open(args[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[0])
	return nil
}
