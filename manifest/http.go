package manifest

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/gateway"

	"go.yaml.in/yaml/v3"
)

// HTTP is the manifest's http: section: an HTTP gateway in front of the
// tree. It becomes a Go actor named "http", the last child of the root, so
// that it starts after and stops before the processes it serves.
type HTTP struct {
	Listen            string      `yaml:"listen"`
	ReadHeaderTimeout Duration    `yaml:"read_header_timeout"`
	ReadTimeout       Duration    `yaml:"read_timeout"`
	WriteTimeout      Duration    `yaml:"write_timeout"`
	IdleTimeout       Duration    `yaml:"idle_timeout"`
	MaxHeaderBytes    Size        `yaml:"max_header_bytes"`
	MaxBody           Size        `yaml:"max_body"`
	BodyTimeout       Duration    `yaml:"body_timeout"`
	BodyBuffer        Size        `yaml:"body_buffer"`
	MaxConns          int         `yaml:"max_connections"`
	MaxConnsPerIP     int         `yaml:"max_connections_per_ip"`
	Drain             Duration    `yaml:"drain"`
	Routes            []HTTPRoute `yaml:"routes"`
	// Node is the cluster node that runs the gateway; "" means the node
	// the routes' targets run on. Only in a clustered manifest.
	Node     string `yaml:"node"`
	line     int
	nodeLine int
	gwNode   string // where the gateway runs, once checked
}

// HTTPRoute sends requests matching Pattern to the process at To, or, with
// Key, to the child of the template supervisor at To named by the path
// wildcard Key, spawned on first use.
type HTTPRoute struct {
	Pattern     string   `yaml:"pattern"`
	To          string   `yaml:"to"`
	Key         string   `yaml:"key"`
	Timeout     Duration `yaml:"timeout"`
	MaxInflight int      `yaml:"max_inflight"`
	MaxSockets  int      `yaml:"max_sockets"` // WebSockets per actor
	MaxFrame    Size     `yaml:"max_frame"`   // bytes of one message from a WebSocket client
	line        int
}

// HTTPChild is the name of the gateway's process under the root.
const HTTPChild = "http"

// maxRoutes bounds the routes of a manifest.
const maxRoutes = 1000

func decodeHTTP(n *yaml.Node, h *HTTP) error {
	n = resolve(n)
	h.line = n.Line
	lines, err := decodeFields(n, "http", h, map[string]func(*yaml.Node) error{
		"routes": func(v *yaml.Node) error {
			v = resolve(v)
			if v.Kind != yaml.SequenceNode {
				return fmt.Errorf("line %d: http: routes: a list of routes, got %s", v.Line, kindName(v))
			}
			if len(v.Content) > maxRoutes {
				return fmt.Errorf("line %d: http: routes: %d routes, over the limit of %d", v.Line, len(v.Content), maxRoutes)
			}
			for _, rn := range v.Content {
				var r HTTPRoute
				r.line = resolve(rn).Line
				if _, err := decodeFields(rn, "http: route", &r, nil); err != nil {
					return err
				}
				h.Routes = append(h.Routes, r)
			}
			return nil
		},
	})
	h.nodeLine = lines["node"]
	return err
}

// checkHTTP validates the http: section against the tree.
func (m *Manifest) checkHTTP() error {
	h := m.HTTP
	if h == nil {
		return nil
	}
	if h.Listen == "" {
		return fmt.Errorf("line %d: http: needs listen (host:port)", h.line)
	}
	if _, _, err := net.SplitHostPort(h.Listen); err != nil {
		return fmt.Errorf("line %d: http: listen %q: %v", h.line, h.Listen, err)
	}
	if h.MaxHeaderBytes.N > 1<<20 {
		return fmt.Errorf("line %d: http: max_header_bytes: %d is over 1MiB", h.line, h.MaxHeaderBytes.N)
	}
	if h.MaxConns < 0 || h.MaxConns > 10_000_000 || h.MaxConnsPerIP < 0 || h.MaxConnsPerIP > 10_000_000 {
		return fmt.Errorf("line %d: http: max_connections and max_connections_per_ip: out of range (0 to 10000000)", h.line)
	}
	if len(h.Routes) == 0 {
		return fmt.Errorf("line %d: http: needs at least one route", h.line)
	}
	for _, ch := range m.Root.Children {
		if ch.Name == HTTPChild {
			return fmt.Errorf("line %d: the root has a child named %q, the name the http: section gives its gateway", ch.line, HTTPChild)
		}
	}
	kids := make(map[string]*Child)
	m.walk(&m.Root, "", kids)
	seen := make(map[string]int)
	for _, r := range h.Routes {
		where := fmt.Sprintf("line %d: http: route %q", r.line, r.Pattern)
		if r.Pattern == "" {
			return fmt.Errorf("line %d: http: a route needs a pattern", r.line)
		}
		if prev, ok := seen[r.Pattern]; ok {
			return fmt.Errorf("%s: duplicate (first on line %d)", where, prev)
		}
		seen[r.Pattern] = r.line
		if err := gateway.CheckPattern(r.Pattern, r.Key); err != nil {
			return fmt.Errorf("%s: %v", where, strings.TrimPrefix(err.Error(), "http: "))
		}
		c, ok := kids[r.To]
		if !ok || r.To == "" {
			return fmt.Errorf("%s: to: no process named %q (give a path from the root, like a/b)", where, r.To)
		}
		switch {
		case r.Key != "" && c.Template == nil:
			return fmt.Errorf("%s: key: %q is not a supervisor with a template (a keyed route spawns children)", where, r.To)
		case r.Key == "" && c.Strategy != "":
			return fmt.Errorf("%s: to: %q is a supervisor; route to a worker, or give a key to reach a template's children", where, r.To)
		case r.Key == "" && c.Go != "":
			return fmt.Errorf("%s: to: %q is a Go actor; HTTP reaches scripts that export fetch", where, r.To)
		}
		if r.MaxInflight < 0 || r.MaxInflight > 1_000_000 {
			return fmt.Errorf("%s: max_inflight: %d is out of range (0 to 1000000)", where, r.MaxInflight)
		}
		if r.MaxSockets < 0 || r.MaxSockets > 1_000_000 {
			return fmt.Errorf("%s: max_sockets: %d is out of range (0 to 1000000)", where, r.MaxSockets)
		}
		if r.MaxFrame.N > 64<<20 {
			return fmt.Errorf("%s: max_frame: %d is over 64MiB", where, r.MaxFrame.N)
		}
	}
	return m.checkGatewayNode()
}

// checkGatewayNode places the gateway of a clustered manifest: on the node
// its node: field names, else on the node of its first route's target.
// Every route must reach a process on that node: a request, its keyed
// spawn and its WebSocket are served there, through that node's mailboxes.
func (m *Manifest) checkGatewayNode() error {
	h := m.HTTP
	if m.Cluster == nil {
		return nil // checkUnclustered refused http: node:
	}
	node := h.Node
	if node != "" && !m.Cluster.HasNode(node) {
		return fmt.Errorf("line %d: http: node: %q is not a node of the cluster (%s)", h.nodeLine, node, strings.Join(m.Cluster.Nodes, ", "))
	}
	if node == "" {
		node = m.placedOn(h.Routes[0].To)
	}
	for _, r := range h.Routes {
		if on := m.placedOn(r.To); on != node {
			return fmt.Errorf("line %d: http: route %q: to: %q runs on node %s and the gateway on node %s; "+
				"a gateway reaches processes on its own node only (place the routes' targets on one node)", r.line, r.Pattern, r.To, on, node)
		}
	}
	h.gwNode = node
	return nil
}

// placedOn returns the node the process at path runs on: the node of the
// child of the root it lies under.
func (m *Manifest) placedOn(path string) string {
	first, _, _ := strings.Cut(path, "/")
	for i := range m.Root.Children {
		if m.Root.Children[i].Name == first {
			return m.Root.Children[i].Node
		}
	}
	return ""
}

// walk maps every path of the tree to its child.
func (m *Manifest) walk(c *Child, path string, out map[string]*Child) {
	out[path] = c
	for i := range c.Children {
		m.walk(&c.Children[i], joinPath(path, c.Children[i].Name), out)
	}
}

// gateway returns the gateway of the http: section and the child that runs
// it, granted what each route needs: send on its target, and spawn too for
// a keyed route.
func (m *Manifest) gateway() (*gateway.Gateway, actor.ChildSpec, error) {
	h := m.HTTP
	cfg := gateway.Config{
		Addr:              h.Listen,
		ReadHeaderTimeout: h.ReadHeaderTimeout.D,
		ReadTimeout:       h.ReadTimeout.D,
		WriteTimeout:      h.WriteTimeout.D,
		IdleTimeout:       h.IdleTimeout.D,
		MaxHeaderBytes:    int(h.MaxHeaderBytes.N),
		MaxBody:           h.MaxBody.N,
		BodyTimeout:       h.BodyTimeout.D,
		BodyBuffer:        h.BodyBuffer.N,
		MaxConns:          h.MaxConns,
		MaxConnsPerIP:     h.MaxConnsPerIP,
		Drain:             h.Drain.D,
	}
	spec := actor.ChildSpec{Name: HTTPChild, Node: h.gwNode, Go: gateway.ReceiverName, Restart: actor.Permanent}
	for k, r := range h.Routes {
		grant := fmt.Sprintf("route%d", k)
		rights := capability.Send
		if r.Key != "" {
			rights |= capability.Spawn
		}
		spec.Grants = append(spec.Grants, actor.GrantSpec{Name: grant, To: r.To, Rights: rights})
		cfg.Routes = append(cfg.Routes, gateway.Route{Pattern: r.Pattern, Grant: grant, Key: r.Key,
			Timeout: r.Timeout.D, MaxInflight: r.MaxInflight, MaxSockets: r.MaxSockets, MaxFrame: int(r.MaxFrame.N)})
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		return nil, spec, fmt.Errorf("%s%w", m.pos(h.line), err)
	}
	// The drain, and a margin, before the supervisor gives up on the stop.
	spec.Shutdown = gw.Config().Drain + time.Second
	return gw, spec, nil
}
