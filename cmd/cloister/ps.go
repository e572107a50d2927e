package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cloister-rt/cloister/debughttp"
)

// defaultDebugAddr is where `cloister ps` looks for a node.
const defaultDebugAddr = "127.0.0.1:9090"

// errUnreachable marks a node that could not be asked.
var errUnreachable = errors.New("node not reachable")

func psCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ps", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultDebugAddr, "the node's debug endpoint `ADDR` (host:port or URL)")
	asJSON := fs.Bool("json", false, "print the tree as JSON")
	token := fs.String("token", "", "bearer `TOKEN` for an endpoint that needs one (default $"+envDebugToken+")")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: ps takes no arguments", errUsage)
	}
	if *token == "" {
		*token = os.Getenv(envDebugToken)
	}
	body, err := fetchTree(ctx, *addr, *token)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var root debughttp.Process
	if err := json.Unmarshal(body, &root); err != nil {
		return fmt.Errorf("ps: %s answered something that is not a process tree: %w", *addr, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tID\tKIND\tSTATUS\tINCARNATION\tRESTARTS\tMAILBOX")
	printTree(tw, &root, 0)
	return tw.Flush()
}

// fetchTree asks the endpoint at addr for GET /debug/tree.
func fetchTree(ctx context.Context, addr, token string) ([]byte, error) {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/debug/tree", nil)
	if err != nil {
		return nil, fmt.Errorf("ps: --addr %q: %w", addr, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ps: %w at %s: %w (is `cloister run --debug %s` running?)", errUnreachable, addr, err, addr)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("ps: read from %s: %w", addr, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return body, nil
	case http.StatusUnauthorized:
		return nil, fmt.Errorf("ps: %s needs a token: pass --token or set $%s", addr, envDebugToken)
	}
	return nil, fmt.Errorf("ps: %s answered %s", addr, resp.Status)
}

func printTree(w io.Writer, p *debughttp.Process, depth int) {
	name := p.Name
	if p.Path == "" {
		name = "/"
	}
	kind := p.Kind
	if p.Strategy != "" {
		kind = p.Strategy
	}
	fmt.Fprintf(w, "%s%s\t%d\t%s\t%s\t%d\t%d\t%d\n", strings.Repeat("  ", depth), name, p.ID, kind, p.Status, p.Incarnation, p.Restarts, p.MailboxDepth)
	for _, ch := range p.Children {
		printTree(w, ch, depth+1)
	}
}
