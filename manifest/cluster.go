package manifest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/actor"

	"go.yaml.in/yaml/v3"
)

// Cluster is the manifest's cluster: section: the nodes one tree runs on,
// the NATS servers that carry frames between them, and each node's
// certificate. Every node runs the same manifest and starts only the
// children of the root placed on it (a child's node: field).
type Cluster struct {
	// Nodes names every node of the cluster. A name becomes a token of
	// NATS subjects: letters, digits, '-' and '_' only.
	Nodes []string `yaml:"nodes"`
	// NATS are the URLs of the NATS servers (nats://, tls://, ws:// or
	// wss://). Empty: the command line gives them.
	NATS []string `yaml:"nats"`
	// Prefix is the first token of every subject the nodes use; ""
	// takes the transport's default.
	Prefix string `yaml:"prefix"`
	// TLS are the files of each node's client certificate and key and of
	// the CA that signed the NATS servers' certificates. A {node} in a
	// path is replaced by the node's name. In App.Cluster the paths are
	// relative to the working directory, not the manifest.
	TLS *ClusterTLS `yaml:"tls"`
	// Heartbeat is the interval between a node's heartbeats, DeadAfter
	// the silence after which its peers count it lost. Zero takes the
	// transport's defaults.
	Heartbeat Duration `yaml:"heartbeat"`
	DeadAfter Duration `yaml:"dead_after"`

	line int
}

// ClusterTLS are a node's certificate files, see Cluster.TLS.
type ClusterTLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	CA   string `yaml:"ca"`
	line int
}

// NodePlaceholder stands for the node's name in the paths of cluster.tls
// and in data_dir.
const NodePlaceholder = "{node}"

// Bounds of the cluster: section.
const (
	maxClusterNodes = 256
	maxNATSURLs     = 32
	minHeartbeat    = 10 * time.Millisecond
	maxHeartbeat    = 10 * time.Second
	maxDeadAfter    = time.Minute
)

// nodeNameRE is what a node's name may be: one NATS subject token that
// cannot be a wildcard, and no separator.
var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// placeholderRE finds every {...} in a path.
var placeholderRE = regexp.MustCompile(`\{[^}]*\}`)

// CheckNodeName reports whether name may name a cluster node.
func CheckNodeName(name string) error {
	if !nodeNameRE.MatchString(name) {
		return fmt.Errorf("node name %q: use 1 to 64 letters, digits, '-' or '_' (it becomes a NATS subject token: no dots, wildcards or spaces)", name)
	}
	return nil
}

func decodeCluster(n *yaml.Node, c *Cluster) error {
	n = resolve(n)
	c.line = n.Line
	_, err := decodeFields(n, "cluster", c, map[string]func(*yaml.Node) error{
		"nats": func(v *yaml.Node) error {
			v = resolve(v)
			if v.Kind == yaml.ScalarNode && !isNull(v) {
				c.NATS = []string{v.Value} // one URL needs no list
				return nil
			}
			if err := v.Decode(&c.NATS); err != nil {
				return fmt.Errorf("line %d: cluster: nats: a URL or a list of URLs, got %s", v.Line, kindName(v))
			}
			return nil
		},
		"tls": func(v *yaml.Node) error {
			c.TLS = &ClusterTLS{line: resolve(v).Line}
			type plain ClusterTLS
			_, err := decodeFields(v, "cluster: tls", (*plain)(c.TLS), nil)
			return err
		},
	})
	return err
}

// checkCluster validates the cluster: section and the placement of the
// root's children.
func (m *Manifest) checkCluster() error {
	if m.Cluster == nil {
		return m.checkUnclustered()
	}
	c := m.Cluster
	where := fmt.Sprintf("line %d: cluster: ", c.line)
	if len(c.Nodes) == 0 {
		return fmt.Errorf("%snodes: name at least one node, like [a, b]", where)
	}
	if len(c.Nodes) > maxClusterNodes {
		return fmt.Errorf("%snodes: %d nodes, over the limit of %d", where, len(c.Nodes), maxClusterNodes)
	}
	for i, name := range c.Nodes {
		if err := CheckNodeName(name); err != nil {
			return fmt.Errorf("%snodes: %w", where, err)
		}
		if j := slices.Index(c.Nodes, name); j < i {
			return fmt.Errorf("%snodes: %q is listed twice", where, name)
		}
	}
	if len(c.NATS) > maxNATSURLs {
		return fmt.Errorf("%snats: %d URLs, over the limit of %d", where, len(c.NATS), maxNATSURLs)
	}
	for _, u := range c.NATS {
		if err := CheckNATSURL(u); err != nil {
			return fmt.Errorf("%snats: %w", where, err)
		}
	}
	if c.Prefix != "" && !nodeNameRE.MatchString(c.Prefix) {
		return fmt.Errorf("%sprefix %q: use 1 to 64 letters, digits, '-' or '_' (one NATS subject token: no dots, wildcards or spaces)", where, c.Prefix)
	}
	if hb := c.Heartbeat.D; hb != 0 && (hb < minHeartbeat || hb > maxHeartbeat) {
		return fmt.Errorf("%sheartbeat: %v is out of range (%v to %v)", where, hb, minHeartbeat, maxHeartbeat)
	}
	if d := c.DeadAfter.D; d != 0 {
		hb := c.Heartbeat.D
		if hb == 0 {
			hb = minHeartbeat
		}
		if d < 2*hb || d > maxDeadAfter {
			return fmt.Errorf("%sdead_after: %v is out of range (at least two heartbeats, up to %v)", where, d, maxDeadAfter)
		}
	}
	if t := c.TLS; t != nil {
		at := fmt.Sprintf("line %d: cluster: tls: ", t.line)
		for _, f := range []struct{ name, path string }{{"cert", t.Cert}, {"key", t.Key}, {"ca", t.CA}} {
			if f.path == "" {
				return fmt.Errorf("%sneeds cert, key and ca (each node proves itself with its certificate)", at)
			}
			if err := checkPlaceholders(f.path); err != nil {
				return fmt.Errorf("%s%s: %w", at, f.name, err)
			}
		}
		if len(c.Nodes) > 1 && (!strings.Contains(t.Cert, NodePlaceholder) || !strings.Contains(t.Key, NodePlaceholder)) {
			return fmt.Errorf("%sgive each node its own certificate and key: put %s in both paths (like certs/node-%s.pem), or every node would be the same NATS user", at, NodePlaceholder, NodePlaceholder)
		}
	} else {
		for _, u := range c.NATS {
			if !loopbackURL(u) {
				return fmt.Errorf("%snats: %q is not a loopback address: without tls, any client of that server could act as any node (add tls: cert, key and ca)", where, u)
			}
		}
	}
	if err := checkPlaceholders(m.DataDir); err != nil {
		return fmt.Errorf("line %d: data_dir: %w", m.dataDirLine, err)
	}
	if m.Root.Template != nil {
		return fmt.Errorf("line %d: root: a clustered root has children placed on nodes, not a template (put the template supervisor under a child of the root)", m.Root.Template.line)
	}
	if m.Root.Node != "" {
		return fmt.Errorf("line %d: root: node: the root runs on every node; place its children instead", m.Root.nodeLine)
	}
	for i := range m.Root.Children {
		ch := &m.Root.Children[i]
		if ch.Node == "" {
			return fmt.Errorf("line %d: %s: needs node: one of %s (in a clustered manifest each child of the root names the node it runs on)", ch.line, ch.Name, strings.Join(c.Nodes, ", "))
		}
		if !slices.Contains(c.Nodes, ch.Node) {
			return fmt.Errorf("line %d: %s: node: %q is not a node of the cluster (%s)", ch.nodeLine, ch.Name, ch.Node, strings.Join(c.Nodes, ", "))
		}
		if err := noNodeBelow(ch, ch.Name); err != nil {
			return err
		}
	}
	return nil
}

// checkUnclustered refuses placement in a manifest without a cluster.
func (m *Manifest) checkUnclustered() error {
	var err error
	m.eachChild(&m.Root, "", func(c *Child, path string) {
		if err == nil && c.Node != "" {
			err = fmt.Errorf("line %d: %s: node: %q names a cluster node, but the manifest has no cluster: section", c.nodeLine, orRoot(path), c.Node)
		}
	})
	if err == nil && m.HTTP != nil && m.HTTP.Node != "" {
		err = fmt.Errorf("line %d: http: node: %q names a cluster node, but the manifest has no cluster: section", m.HTTP.nodeLine, m.HTTP.Node)
	}
	if err == nil && strings.Contains(m.DataDir, NodePlaceholder) {
		err = fmt.Errorf("line %d: data_dir: %s stands for a cluster node, but the manifest has no cluster: section", m.dataDirLine, NodePlaceholder)
	}
	return err
}

// noNodeBelow refuses node: below a child of the root: a subtree runs on
// one node.
func noNodeBelow(c *Child, path string) error {
	var err error
	for i := range c.Children {
		ch := &c.Children[i]
		p := joinPath(path, ch.Name)
		if ch.Node != "" {
			return fmt.Errorf("line %d: %s: node: only a child of the root is placed on a node; its subtree runs there with it", ch.nodeLine, p)
		}
		if err = noNodeBelow(ch, p); err != nil {
			return err
		}
	}
	if t := c.Template; t != nil && t.Node != "" {
		return fmt.Errorf("line %d: %s: template: node: a template supervisor spawns its children on its own node", t.nodeLine, path)
	}
	return nil
}

// eachChild calls f on c and every child and template below it.
func (m *Manifest) eachChild(c *Child, path string, f func(*Child, string)) {
	f(c, path)
	for i := range c.Children {
		m.eachChild(&c.Children[i], joinPath(path, c.Children[i].Name), f)
	}
	if c.Template != nil {
		m.eachChild(c.Template, joinPath(path, "template"), f)
	}
}

func orRoot(path string) string {
	if path == "" {
		return "root"
	}
	return path
}

// checkPlaceholders refuses a {...} in a path other than {node}.
func checkPlaceholders(path string) error {
	for _, p := range placeholderRE.FindAllString(path, -1) {
		if p != NodePlaceholder {
			return fmt.Errorf("%q: %s is not a placeholder (the only one is %s)", path, p, NodePlaceholder)
		}
	}
	return nil
}

// CheckNATSURL reports whether u can name a NATS server: a nats://,
// tls://, ws:// or wss:// URL with a host, and no credentials (nodes
// prove who they are with their certificates).
func CheckNATSURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("%q is not a URL", u)
	}
	switch p.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("%q: want a nats://, tls://, ws:// or wss:// URL", u)
	}
	if p.Hostname() == "" {
		return fmt.Errorf("%q has no host", u)
	}
	if p.User != nil {
		return fmt.Errorf("%q holds credentials: nodes authenticate with their certificates (cluster: tls)", redact(p))
	}
	if (p.Path != "" && p.Path != "/") || p.RawQuery != "" || p.Fragment != "" {
		return fmt.Errorf("%q: a NATS URL is a scheme, host and port only", u)
	}
	return nil
}

// redact hides the password of a URL in an error.
func redact(p *url.URL) string { return p.Redacted() }

// loopbackURL reports whether the URL names this machine.
func loopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// LoopbackNATS reports whether every URL names this machine: without
// cluster TLS, only such a cluster is safe.
func LoopbackNATS(urls []string) bool {
	for _, u := range urls {
		if !loopbackURL(u) {
			return false
		}
	}
	return true
}

// TLSFiles returns node's certificate, key and CA files, its name put in
// place of {node}; all "" when the cluster has no tls.
func (c *Cluster) TLSFiles(node string) (cert, key, ca string) {
	if c.TLS == nil {
		return "", "", ""
	}
	r := strings.NewReplacer(NodePlaceholder, node)
	return r.Replace(c.TLS.Cert), r.Replace(c.TLS.Key), r.Replace(c.TLS.CA)
}

// HasNode reports whether name is a node of the cluster.
func (c *Cluster) HasNode(name string) bool { return slices.Contains(c.Nodes, name) }

// resolved returns a copy of c with its TLS paths resolved against dir.
func (c *Cluster) resolved(dir string) *Cluster {
	out := *c
	out.Nodes = slices.Clone(c.Nodes)
	out.NATS = slices.Clone(c.NATS)
	if c.TLS != nil {
		t := *c.TLS
		for _, p := range []*string{&t.Cert, &t.Key, &t.CA} {
			if !filepath.IsAbs(*p) {
				*p = filepath.Join(dir, *p)
			}
		}
		out.TLS = &t
	}
	return &out
}

// nodeOf returns the node a path of the tree runs on: the node of the
// child of the root it lies under.
func nodeOf(root *actor.ChildSpec, path string) string {
	first, _, _ := strings.Cut(path, "/")
	for i := range root.Children {
		if root.Children[i].Name == first {
			return root.Children[i].Node
		}
	}
	return ""
}
