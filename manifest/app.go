package manifest

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/gateway"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// App is a manifest made ready to run: the compiled tree and every setting
// the node takes from the manifest. Start a node from it with
//
//	node, err := actor.NewNode(app.Options())
//	err = node.Start(app.Root)
type App struct {
	// Root is the process tree, its scripts compiled.
	Root actor.ChildSpec
	// Debug is the debug endpoint's address given in the manifest, or "".
	Debug string
	// HTTP is the gateway of the manifest's http: section, or nil. Root
	// already has its process (the root's last child, named "http") and
	// Options its receiver; HTTP.Addr is where it listens once started.
	HTTP *gateway.Gateway
	// DataDir is the directory of the storage backend (the manifest's
	// data_dir, resolved against its directory); Storage reports whether
	// any worker is granted storage, so whether it is needed at all.
	DataDir string
	Storage bool
	// Cluster is the manifest's cluster: section, its TLS paths resolved
	// against the manifest's directory, or nil. Root's children then name
	// their node (ChildSpec.Node); ForNode gives one node's view.
	Cluster *Cluster
	// Node is the node ForNode made this view for, or "".
	Node string

	opts           actor.Options
	defaultDataDir bool // the manifest names no data_dir
}

// Options returns the node options the manifest sets: the default limits of
// every worker and mailbox (defaults: limits) and the node-wide bounds on
// processes and call depth, and with an http: section the gateway's Go
// receiver in Receivers (add your own to that map rather than replace it).
// The result is a copy; set Logger on it.
func (a *App) Options() actor.Options { return a.opts }

// Open reads, validates and compiles the manifest at path, its scripts
// relative to it: the one call that turns a manifest into a node's tree and
// options. Errors name the file and line.
func Open(path string) (*App, error) {
	m, err := Load(path)
	if err != nil {
		return nil, err
	}
	return m.App(isolate.NewCompiler())
}

// OpenScript compiles the script at path and returns an app whose root, a
// one_for_one supervisor named "root" with the default intensity, runs it as
// one permanent worker named after the file. The node options are the
// defaults.
func OpenScript(path string) (*App, error) {
	s, err := isolate.NewCompiler().Load(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	root := actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(supervisor.DefaultIntensity, supervisor.DefaultPeriod),
		Children: []actor.ChildSpec{{Name: name, Script: s}},
	}
	return &App{Root: root}, nil
}

// App compiles m's scripts with c and returns the tree with the node options.
func (m *Manifest) App(c *isolate.Compiler) (*App, error) {
	root, err := m.Spec(c)
	if err != nil {
		return nil, err
	}
	app := &App{Root: root, Debug: m.Debug, DataDir: m.dataDir(), Storage: usesStorage(&root), opts: m.Options()}
	if m.Cluster != nil {
		app.Cluster = m.Cluster.resolved(m.dir)
		app.defaultDataDir = m.DataDir == ""
	}
	if m.HTTP != nil {
		gw, spec, err := m.gateway()
		if err != nil {
			return nil, err
		}
		app.HTTP = gw
		app.Root.Children = append(app.Root.Children, spec)
		app.opts.Receivers = map[string]func() actor.Receiver{gateway.ReceiverName: gw.Receiver}
	}
	return app, nil
}

// Options returns the node options the manifest sets; see App.Options.
func (m *Manifest) Options() actor.Options {
	processes, callDepth := m.NodeLimits()
	return actor.Options{
		Limits:       m.Limits(),
		Mailbox:      m.MailboxLimits(),
		MaxProcesses: processes,
		MaxCallDepth: callDepth,
	}
}

// NodeOf returns the cluster node the process at path (like "pool/3")
// runs on: the node of the child of the root it lies under; "" when the
// manifest has no cluster or no such child.
func (a *App) NodeOf(path string) string {
	if a.Cluster == nil {
		return ""
	}
	return nodeOf(&a.Root, path)
}

// ForNode returns the view of a clustered app that node runs: the same
// tree (every node knows every path, for grants across nodes; the node
// starts only the children placed on it), with the settings that differ
// from node to node:
//   - DataDir has {node} replaced by the node's name; with no data_dir in
//     the manifest it is a directory per node, cloister-data/<node>, so
//     that nodes sharing a machine and a manifest keep apart;
//   - Storage reports whether a worker placed on node is granted storage;
//   - HTTP is the gateway only on the node that runs it, else nil.
//
// It refuses a node the cluster: section does not list, and an app with no
// cluster: section.
func (a *App) ForNode(node string) (*App, error) {
	if a.Cluster == nil {
		return nil, fmt.Errorf("node %q: the manifest has no cluster: section", node)
	}
	if !a.Cluster.HasNode(node) {
		return nil, fmt.Errorf("node %q is not a node of the manifest's cluster (%s)", node, strings.Join(a.Cluster.Nodes, ", "))
	}
	out := *a
	out.Node = node
	out.DataDir = a.nodeDataDir(node)
	out.Storage = false
	for i := range a.Root.Children {
		if ch := &a.Root.Children[i]; ch.Node == node && usesStorage(ch) {
			out.Storage = true
		}
	}
	if a.HTTP != nil && a.NodeOf(HTTPChild) != node {
		out.HTTP = nil // its receiver stays registered: the child is in every node's tree
	}
	return &out, nil
}

// nodeDataDir is node's storage directory.
func (a *App) nodeDataDir(node string) string {
	if !a.defaultDataDir {
		return strings.ReplaceAll(a.DataDir, NodePlaceholder, node)
	}
	return filepath.Join(a.DataDir, node)
}
