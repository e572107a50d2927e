package cluster

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultMaxPayload is the largest NATS message the servers ServerConfig
// and DevServer configure: room for a frame carrying a message of the
// largest size a Cloister node accepts by default, plus its capabilities.
const DefaultMaxPayload = 8 << 20

// NodePermissions returns the subjects node name may publish to and
// subscribe to: it publishes its frames to any node and its own
// heartbeats (P.f.*.name, P.hb.name), and reads only the frames sent to
// it and every heartbeat (P.f.name.*, P.hb.*). The last token of a frame
// subject therefore names its sender, and no node reads another's frames.
func NodePermissions(prefix, name string) (publish, subscribe []string) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return []string{prefix + ".f.*." + name, prefix + ".hb." + name},
		[]string{prefix + ".f." + name + ".*", prefix + ".hb.*"}
}

// ServerOptions describes a NATS server for a cluster, for ServerConfig
// and DevServer.
type ServerOptions struct {
	// Host and Port to listen on (default 127.0.0.1, and a free port for
	// DevServer or 4222 for ServerConfig).
	Host string
	Port int
	// Prefix of the cluster's subjects (default "cloister").
	Prefix string
	// Nodes are the nodes that may connect. With TLS, each is a user
	// mapped from its certificate (NodeUser) with NodePermissions.
	Nodes []string
	// CertFile, KeyFile and CAFile enable mutual TLS: the server's
	// certificate and key, and the CA that signs node certificates.
	// Without them the server accepts anyone, for a trusted dev machine.
	CertFile, KeyFile, CAFile string
	// MaxPayload bounds one message (default DefaultMaxPayload).
	MaxPayload int
}

// ServerConfig returns the text of a nats-server configuration file for
// a cluster of opts.Nodes: mutual TLS with verify_and_map, one user per
// node certificate, and each user's permissions as NodePermissions says.
// It fails without TLS files, since permissions need the mapping.
func ServerConfig(opts ServerOptions) (string, error) {
	if opts.CertFile == "" || opts.KeyFile == "" || opts.CAFile == "" {
		return "", errors.New("nats config: cert, key and CA files are required")
	}
	if len(opts.Nodes) == 0 {
		return "", errors.New("nats config: no nodes")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := validToken("prefix", prefix); err != nil {
		return "", err
	}
	host, port := opts.Host, opts.Port
	if host == "" {
		host = "127.0.0.1"
	}
	if port == 0 {
		port = 4222
	}
	maxPayload := opts.MaxPayload
	if maxPayload <= 0 {
		maxPayload = DefaultMaxPayload
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# NATS server for the Cloister cluster of nodes %s.\n", strings.Join(opts.Nodes, ", "))
	fmt.Fprintf(&b, "listen: %s\n", strconv.Quote(net.JoinHostPort(host, strconv.Itoa(port))))
	fmt.Fprintf(&b, "max_payload: %d\n\n", maxPayload)
	b.WriteString("# Every client shows a certificate signed by the CA; its subject names the user.\n")
	b.WriteString("tls {\n")
	fmt.Fprintf(&b, "  cert_file: %s\n", strconv.Quote(opts.CertFile))
	fmt.Fprintf(&b, "  key_file: %s\n", strconv.Quote(opts.KeyFile))
	fmt.Fprintf(&b, "  ca_file: %s\n", strconv.Quote(opts.CAFile))
	b.WriteString("  verify_and_map: true\n}\n\n")
	b.WriteString("# A node publishes its own frames and heartbeats, and reads only its own frames.\n")
	b.WriteString("authorization {\n  users = [\n")
	seen := map[string]bool{}
	for _, n := range opts.Nodes {
		if err := ValidName(n); err != nil {
			return "", err
		}
		if seen[n] {
			return "", fmt.Errorf("nats config: node %q listed twice", n)
		}
		seen[n] = true
		pub, sub := NodePermissions(prefix, n)
		fmt.Fprintf(&b, "    { user: %s, permissions: { publish: { allow: %s }, subscribe: { allow: %s } } }\n",
			strconv.Quote(NodeUser(n)), quoteList(pub), quoteList(sub))
	}
	b.WriteString("  ]\n}\n")
	return b.String(), nil
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// DevServer is a NATS server embedded in this process, for a cluster on
// one machine and for tests.
type DevServer struct {
	s *server.Server
}

// StartDevServer starts an embedded NATS server as opts say and waits
// until it accepts connections. With TLS files it is configured by the
// text ServerConfig returns; otherwise it accepts any client.
func StartDevServer(opts ServerOptions) (*DevServer, error) {
	sopts := &server.Options{}
	if opts.CertFile != "" || opts.KeyFile != "" || opts.CAFile != "" {
		text, err := ServerConfig(opts)
		if err != nil {
			return nil, fmt.Errorf("dev server: %w", err)
		}
		if err := sopts.ProcessConfigString(text); err != nil {
			return nil, fmt.Errorf("dev server: %w", err)
		}
	} else {
		sopts.MaxPayload = int32(DefaultMaxPayload)
		if opts.MaxPayload > 0 {
			sopts.MaxPayload = int32(opts.MaxPayload)
		}
	}
	sopts.Host = opts.Host
	if sopts.Host == "" {
		sopts.Host = "127.0.0.1"
	}
	sopts.Port = opts.Port
	if sopts.Port == 0 {
		sopts.Port = server.RANDOM_PORT
	}
	sopts.NoLog, sopts.NoSigs = true, true
	sopts.HTTPPort = 0
	s, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("dev server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, errors.New("dev server: not ready to accept connections")
	}
	return &DevServer{s: s}, nil
}

// URL is the address clients connect to, "nats://host:port" (a server
// with TLS takes it as is; clients upgrade the connection).
func (d *DevServer) URL() string { return d.s.ClientURL() }

// Shutdown stops the server and waits until it has.
func (d *DevServer) Shutdown() {
	d.s.Shutdown()
	d.s.WaitForShutdown()
}
