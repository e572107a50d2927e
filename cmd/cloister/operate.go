package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/debughttp"
)

// operateCmd is `cloister stop|kill|restart PATH`: it finds the process at
// PATH in a running node's tree (ids change, paths do not) and asks the
// node's debug endpoint for the action.
func operateCmd(ctx context.Context, action string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultDebugAddr, "the node's debug endpoint `ADDR` (host:port or URL)")
	token := fs.String("token", "", "bearer `TOKEN` the endpoint's stop/kill/restart need (default $"+envDebugToken+")")
	pos, err := parseFlags(fs, action+" [flags] PATH", args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: %s takes one process path, such as pool/3", errUsage, action)
	}
	if *token == "" {
		*token = os.Getenv(envDebugToken)
	}
	path := strings.Trim(pos[0], "/")
	body, err := fetchTree(ctx, *addr, *token)
	if err != nil {
		return err
	}
	var root debughttp.Process
	if err := json.Unmarshal(body, &root); err != nil {
		return fmt.Errorf("%s: %s answered something that is not a process tree: %w", action, *addr, err)
	}
	p := findPath(&root, path, 0)
	if p == nil {
		return fmt.Errorf("%s: no process at %q (see cloister ps)", action, pos[0])
	}
	base := *addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	url := fmt.Sprintf("%s/debug/processes/%d/%s", strings.TrimRight(base, "/"), p.ID, action)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w at %s: %w", action, errUnreachable, *addr, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted:
		fmt.Fprintf(stdout, "%s %s (id %d): asked\n", action, p.Path, p.ID)
		return nil
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: %s needs the node's debug token: pass --token or set $%s", action, *addr, envDebugToken)
	}
	return fmt.Errorf("%s %s: %s: %s", action, p.Path, resp.Status, strings.TrimSpace(string(answer)))
}

// findPath returns the process at path in the tree below p.
func findPath(p *debughttp.Process, path string, depth int) *debughttp.Process {
	if p.Path == path {
		return p
	}
	if depth > manifestDepth {
		return nil
	}
	for _, ch := range p.Children {
		if path == ch.Path || strings.HasPrefix(path, ch.Path+"/") {
			return findPath(ch, path, depth+1)
		}
	}
	return nil
}
