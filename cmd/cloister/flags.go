package main

import "flag"

// parseArgs parses fs's flags wherever they stand among the positional
// arguments (`run app.yaml --debug ADDR` as well as `run --debug ADDR
// app.yaml`) and returns the positional ones in order. "--" ends the
// flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if k := len(args) - len(rest); k > 0 && args[k-1] == "--" {
			return append(pos, rest...), nil // flag stopped at "--"
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
