package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/cluster"
	"github.com/cloister-rt/cloister/manifest"
)

// clusterFlags are run's flags for a manifest with a cluster: section.
type clusterFlags struct {
	node, nats, embed *string
}

func addClusterFlags(fs *flag.FlagSet) *clusterFlags {
	return &clusterFlags{
		node:  fs.String("node", "", "run as the cluster node `NAME` (one of the manifest's cluster: nodes)"),
		nats:  fs.String("nats", "", "connect to the NATS servers at `URLS` (comma-separated) instead of the manifest's cluster: nats"),
		embed: fs.String("nats-embed", "", "serve NATS for a dev cluster on `HOST:PORT` in this process, and connect to it"),
	}
}

// Files of the embedded NATS server's certificate, next to the cluster's
// CA file, as `cloister cluster certs` writes them.
const (
	devServerCert = "server.pem"
	devServerKey  = "server-key.pem"
)

// clusterNode is how this process joins its cluster: the transport's
// configuration and, with --nats-embed, the NATS server to start first.
type clusterNode struct {
	cfg   cluster.Config
	embed *cluster.ServerOptions
	dev   *cluster.DevServer
	t     *cluster.Transport
}

// prepare checks the cluster flags against app. It returns the view of
// app this node runs and how it joins the cluster, or app itself and nil
// for a manifest without a cluster: section.
func (cf *clusterFlags) prepare(app *manifest.App) (*manifest.App, *clusterNode, error) {
	c := app.Cluster
	if c == nil {
		if *cf.node != "" || *cf.nats != "" || *cf.embed != "" {
			return nil, nil, fmt.Errorf("%w: --node, --nats and --nats-embed need a manifest with a cluster: section", errUsage)
		}
		return app, nil, nil
	}
	name := *cf.node
	if name == "" {
		return nil, nil, fmt.Errorf("%w: the manifest spreads its tree over nodes %s: give --node NAME", errUsage, strings.Join(c.Nodes, ", "))
	}
	view, err := app.ForNode(name)
	if err != nil {
		return nil, nil, fmt.Errorf("--node: %w", err)
	}
	urls := c.NATS
	if *cf.nats != "" {
		urls = nil
		for _, u := range strings.Split(*cf.nats, ",") {
			u = strings.TrimSpace(u)
			if err := manifest.CheckNATSURL(u); err != nil {
				return nil, nil, fmt.Errorf("%w: --nats: %v", errUsage, err)
			}
			urls = append(urls, u)
		}
	}
	cert, key, ca := c.TLSFiles(name)
	if c.TLS == nil && !manifest.LoopbackNATS(urls) {
		return nil, nil, fmt.Errorf("--nats: %s: without cluster: tls in the manifest, only loopback NATS servers are allowed (any of their clients could act as any node)", strings.Join(urls, ", "))
	}
	n := &clusterNode{cfg: cluster.Config{
		Name: name, URLs: urls, Prefix: c.Prefix,
		CertFile: cert, KeyFile: key, CAFile: ca,
		Heartbeat: c.Heartbeat.D, DeadAfter: c.DeadAfter.D,
	}}
	if *cf.embed != "" {
		host, p, err := net.SplitHostPort(*cf.embed)
		port, perr := strconv.Atoi(p)
		if err != nil || perr != nil || port < 0 || port > 65535 {
			return nil, nil, fmt.Errorf("%w: --nats-embed %q: want HOST:PORT", errUsage, *cf.embed)
		}
		so := cluster.ServerOptions{Host: host, Port: port, Prefix: c.Prefix, Nodes: c.Nodes}
		if c.TLS != nil {
			dir := filepath.Dir(ca)
			so.CertFile, so.KeyFile, so.CAFile = filepath.Join(dir, devServerCert), filepath.Join(dir, devServerKey), ca
		} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, nil, fmt.Errorf("--nats-embed %q: without cluster: tls in the manifest the server accepts any client: serve it on a loopback address", *cf.embed)
		}
		n.embed = &so
		if err := haveFiles("--nats-embed", so.CertFile, so.KeyFile); err != nil {
			return nil, nil, err
		}
	} else if len(urls) == 0 {
		return nil, nil, fmt.Errorf("%w: no NATS server: give cluster: nats in the manifest, --nats URL or --nats-embed HOST:PORT", errUsage)
	}
	if err := haveFiles("cluster: tls", cert, key, ca); err != nil {
		return nil, nil, err
	}
	return view, n, nil
}

// haveFiles reports the first of files ("" skipped) that cannot be read.
func haveFiles(what string, files ...string) error {
	for _, f := range files {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s: %w (cloister cluster certs writes a dev CA and certificates)", what, err)
		}
	}
	return nil
}

// dial starts the embedded NATS server if asked for, connects to NATS and
// sets opts.Cluster. Nothing reaches the node before start.
func (n *clusterNode) dial(opts *actor.Options, log *slog.Logger) error {
	if n.embed != nil {
		dev, err := cluster.StartDevServer(*n.embed)
		if err != nil {
			return err
		}
		n.dev = dev
		log.Info("nats server started", "url", dev.URL(), "tls", n.embed.CertFile != "")
		n.cfg.URLs = []string{dev.URL()} // this node connects to the server it serves
	}
	n.cfg.Logger = log
	t, err := cluster.Dial(n.cfg)
	if err != nil {
		n.close()
		return err
	}
	n.t = t
	opts.Cluster = t
	return nil
}

// start delivers the peers' frames to node and starts the heartbeats.
func (n *clusterNode) start(node *actor.Node) error { return n.t.Start(node) }

// close leaves the cluster (the peers see this node go at once) and stops
// the embedded server. Safe to call twice.
func (n *clusterNode) close() {
	if n.t != nil {
		_ = n.t.Close()
		n.t = nil
	}
	if n.dev != nil {
		n.dev.Shutdown()
		n.dev = nil
	}
}

const clusterUsage = `usage: cloister cluster <command> [arguments]

commands:
  certs [--manifest app.yaml | --nodes a,b,c] [--listen HOST:PORT] DIR
          write a dev CA, a certificate per node, one for the NATS server,
          and a nats-server.conf with each node's permissions into DIR
`

func clusterCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, clusterUsage)
		return errUsage
	}
	switch args[0] {
	case "certs":
		return certsCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, clusterUsage)
		return nil
	}
	fmt.Fprint(stderr, clusterUsage)
	return fmt.Errorf("%w: unknown cluster command %q", errUsage, args[0])
}

// certsCmd is `cloister cluster certs`.
func certsCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mf := fs.String("manifest", "", "take the nodes and the subject prefix from the cluster: section of `FILE`")
	nodes := fs.String("nodes", "", "the cluster's node `NAMES`, comma-separated")
	prefix := fs.String("prefix", "", "the cluster's subject `PREFIX` (default "+cluster.DefaultPrefix+")")
	listen := fs.String("listen", "127.0.0.1:4222", "the address `HOST:PORT` nats-server.conf listens on")
	pos, err := parseFlags(fs, "cluster certs [--manifest app.yaml | --nodes a,b,c] [--listen HOST:PORT] DIR", args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: cluster certs takes one directory", errUsage)
	}
	var names []string
	switch {
	case *mf != "" && *nodes != "":
		return fmt.Errorf("%w: cluster certs: --manifest or --nodes, not both", errUsage)
	case *mf != "":
		m, err := manifest.Load(*mf)
		if err != nil {
			return err
		}
		if m.Cluster == nil {
			return fmt.Errorf("%s: no cluster: section", *mf)
		}
		names = m.Cluster.Nodes
		if *prefix == "" {
			*prefix = m.Cluster.Prefix
		}
	case *nodes != "":
		for _, n := range strings.Split(*nodes, ",") {
			n = strings.TrimSpace(n)
			if err := manifest.CheckNodeName(n); err != nil {
				return fmt.Errorf("%w: --nodes: %v", errUsage, err)
			}
			if slices.Contains(names, n) {
				return fmt.Errorf("%w: --nodes: %q is listed twice", errUsage, n)
			}
			names = append(names, n)
		}
	default:
		return fmt.Errorf("%w: cluster certs: name the nodes with --manifest or --nodes", errUsage)
	}
	host, p, err := net.SplitHostPort(*listen)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil || port <= 0 || port > 65535 {
		return fmt.Errorf("%w: --listen %q: want HOST:PORT", errUsage, *listen)
	}
	dir, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	// A new CA would strand every node certificate the old one signed.
	if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err == nil {
		return fmt.Errorf("cluster certs: %s already holds a CA (ca.pem): remove the directory's certificates first, or write into another", dir)
	}
	d, err := cluster.WriteDevCerts(dir, names)
	if err != nil {
		return err
	}
	conf, err := cluster.ServerConfig(cluster.ServerOptions{Host: host, Port: port, Prefix: *prefix, Nodes: names,
		CertFile: d.ServerCert, KeyFile: d.ServerKey, CAFile: d.CAFile})
	if err != nil {
		return err
	}
	confFile := filepath.Join(dir, "nats-server.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote a dev CA, a server certificate, certificates for nodes %s and %s into %s\n", strings.Join(names, ", "), filepath.Base(confFile), dir)
	// The paths a manifest gives, relative to it.
	rel := dir
	if *mf != "" {
		if mdir, err := filepath.Abs(filepath.Dir(*mf)); err == nil {
			if r, err := filepath.Rel(mdir, dir); err == nil {
				rel = r
			}
		}
	}
	fmt.Fprintf(stdout, "the manifest's cluster: section takes them as\n  tls:\n    cert: %s\n    key: %s\n    ca: %s\n",
		filepath.Join(rel, "node-{node}.pem"), filepath.Join(rel, "node-{node}-key.pem"), filepath.Join(rel, "ca.pem"))
	return nil
}
