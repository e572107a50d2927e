package manifest

import (
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/egress"
)

// isHTTP reports whether a grant uses a field of the http kind.
func (g Grant) isHTTP() bool {
	return len(g.Allow) > 0 || len(g.Methods) > 0 || g.Timeout.D != 0 || g.MaxResponse.N != 0 ||
		g.MaxConcurrent != 0 || len(g.Headers) > 0 || len(g.Networks) > 0
}

// envRef is a ${NAME} or ${NAME:-default} in a header value.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// checkHTTP validates a grant of kind http.
func (g Grant) checkHTTP(where, name string) error {
	at := fmt.Sprintf("line %d: %s: grant %q", g.line, where, name)
	if g.Kind != "http" {
		return fmt.Errorf("%s: kind %q is unknown (the only kind is http; a grant of a process has no kind)", at, g.Kind)
	}
	if g.To != "" {
		return fmt.Errorf("%s: a grant of kind http reaches URLs (allow), not a process (to)", at)
	}
	if len(g.Rights) > 0 {
		return fmt.Errorf("%s: a grant of kind http takes no rights", at)
	}
	if len(g.Allow) == 0 {
		return fmt.Errorf("%s: allow: at least one URL prefix, like https://api.example.com/v1/", at)
	}
	if len(g.Allow) > 100 || len(g.Headers) > 50 || len(g.Networks) > 50 {
		return fmt.Errorf("%s: at most 100 prefixes, 50 headers and 50 networks", at)
	}
	for _, m := range g.Methods {
		switch strings.ToUpper(m) {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		default:
			return fmt.Errorf("%s: methods: %q is not an HTTP method", at, m)
		}
	}
	if g.MaxConcurrent < 0 || g.MaxConcurrent > 10_000 {
		return fmt.Errorf("%s: max_concurrent: %d is out of range (0 to 10000)", at, g.MaxConcurrent)
	}
	for _, n := range g.Networks {
		if _, err := netip.ParsePrefix(n); err != nil {
			return fmt.Errorf("%s: networks: %q is not a CIDR prefix like 10.1.0.0/16", at, n)
		}
	}
	for k, v := range g.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") || strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("%s: headers: %q is not a valid header", at, k)
		}
	}
	if _, err := egress.New(name, g.policy(nil)); err != nil {
		return fmt.Errorf("%s: %v", at, err)
	}
	return nil
}

func (g Grant) policy(headers map[string]string) egress.Policy {
	p := egress.Policy{
		Allow: g.Allow, Methods: append([]string(nil), g.Methods...), Timeout: g.Timeout.D,
		MaxResponse: g.MaxResponse.N, MaxConcurrent: g.MaxConcurrent, Headers: headers,
	}
	for _, n := range g.Networks {
		if pre, err := netip.ParsePrefix(n); err == nil {
			p.Networks = append(p.Networks, pre)
		}
	}
	return p
}

// httpSpec makes the grant's egress target. Header values have their
// ${NAME} references replaced from the node's environment now; a missing
// variable is an error that names it, never a value.
func (g Grant) httpSpec(name string) (actor.GrantSpec, error) {
	headers := make(map[string]string, len(g.Headers))
	for k, v := range g.Headers {
		var missing string
		headers[k] = envRef.ReplaceAllStringFunc(v, func(ref string) string {
			sm := envRef.FindStringSubmatch(ref)
			val, ok := os.LookupEnv(sm[1])
			switch {
			case ok:
				return val
			case sm[2] != "":
				return sm[2][2:]
			case missing == "":
				missing = sm[1]
			}
			return ""
		})
		if missing != "" {
			return actor.GrantSpec{}, fmt.Errorf("grant %q: header %s: the environment variable %s is not set", name, k, missing)
		}
		if strings.ContainsAny(headers[k], "\r\n\x00") {
			return actor.GrantSpec{}, fmt.Errorf("grant %q: header %s: its value from the environment holds a line break", name, k)
		}
	}
	t, err := egress.New(name, g.policy(headers))
	if err != nil {
		return actor.GrantSpec{}, err
	}
	return actor.GrantSpec{Name: name, Rights: capability.Send, Target: t}, nil
}
