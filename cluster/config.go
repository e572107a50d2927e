package cluster

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of Config.
const (
	DefaultPrefix        = "cloister"
	DefaultHeartbeat     = 250 * time.Millisecond
	DefaultDeadAfter     = 1500 * time.Millisecond
	DefaultQueueFrames   = 16 << 10
	DefaultQueueBytes    = 32 << 20
	DefaultMaxBatchBytes = 64 << 10
	DefaultWindow        = 4 << 20
	DefaultMaxPeers      = 256
	DefaultPendingBytes  = 256 << 20
)

// maxNameLen bounds a node name; a name is one NATS subject token.
const maxNameLen = 64

// Config configures a Transport. Only Name and URLs are required.
type Config struct {
	// Name is this node's name: 1 to 64 letters, digits, '-' or '_'.
	// With mTLS it must match the node's certificate (see DevServer).
	Name string
	// URLs are the NATS servers to connect to ("nats://host:4222",
	// "tls://host:4222").
	URLs []string
	// Prefix is the first token of every subject (default "cloister").
	// Every node of a cluster uses the same prefix.
	Prefix string

	// CertFile and KeyFile are the node's client certificate and key in
	// PEM, CAFile the CA that signed the servers' certificates. TLS, if
	// set, is used instead of the three files.
	CertFile, KeyFile, CAFile string
	TLS                       *tls.Config

	// Heartbeat is the interval between this node's heartbeats (default
	// 250ms); DeadAfter is how long a peer may stay silent before it is
	// lost (default 1.5s). Every node of a cluster should use the same
	// values.
	Heartbeat, DeadAfter time.Duration

	// QueueFrames and QueueBytes bound the frames queued for one peer and
	// not yet published (default 16384 frames, 32 MiB); past either, Send
	// returns ErrBackpressure.
	QueueFrames, QueueBytes int
	// MaxBatchBytes bounds one published batch (default 64 KiB, and never
	// more than the server's max_payload).
	MaxBatchBytes int
	// Window bounds the bytes published to one peer and not yet
	// acknowledged by it (default 4 MiB): a peer that falls behind stops
	// its senders' batches at the window, so their queues fill and Send
	// reports ErrBackpressure instead of the NATS server or client
	// dropping messages.
	Window int
	// MaxPeers bounds the peer nodes this node tracks (default 256).
	MaxPeers int
	// PendingBytes bounds the bytes received and not yet processed (the
	// NATS subscription's pending limit, default 256 MiB). Peers keep
	// within it by their windows; past it NATS drops messages, and the
	// drops are counted in Stats.DropsSlowConsumer.
	PendingBytes int

	// Logger receives the transport's logs (default: discarded).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.DeadAfter <= 0 {
		c.DeadAfter = DefaultDeadAfter
	}
	if c.QueueFrames <= 0 {
		c.QueueFrames = DefaultQueueFrames
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.MaxPeers <= 0 {
		c.MaxPeers = DefaultMaxPeers
	}
	if c.PendingBytes <= 0 {
		c.PendingBytes = DefaultPendingBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	if err := ValidName(c.Name); err != nil {
		return err
	}
	if err := validToken("prefix", c.Prefix); err != nil {
		return err
	}
	if len(c.URLs) == 0 {
		return fmt.Errorf("cluster: no NATS server URL")
	}
	if c.DeadAfter <= c.Heartbeat {
		return fmt.Errorf("cluster: dead_after %v must exceed the heartbeat interval %v", c.DeadAfter, c.Heartbeat)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("cluster: a certificate needs both a cert file and a key file")
	}
	return nil
}

// ValidName reports whether name can name a node: 1 to 64 letters,
// digits, '-' or '_', so that it is one NATS subject token.
func ValidName(name string) error { return validToken("node name", name) }

func validToken(what, s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("cluster: %s %q: must be 1 to %d characters", what, s, maxNameLen)
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return fmt.Errorf("cluster: %s %q: only letters, digits, '-' and '_' are allowed", what, s)
		}
	}
	return nil
}
