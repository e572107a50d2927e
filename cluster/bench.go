package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// BenchRawRTT measures n request/reply round trips of a size-byte payload
// over plain NATS between two new connections to url, and returns each
// round trip's duration, in order: the baseline a cross-node call is
// compared with. The server must let both connections use _INBOX.> and
// the subject "cloister-bench.rtt" (a DevServer without TLS does).
func BenchRawRTT(url string, n, size int) ([]time.Duration, error) {
	if n <= 0 || size < 0 {
		return nil, errors.New("bench rtt: n must be positive and size not negative")
	}
	const subject = "cloister-bench.rtt"
	server, err := nats.Connect(url, nats.Name("cloister-bench-responder"))
	if err != nil {
		return nil, fmt.Errorf("bench rtt: %w", err)
	}
	defer server.Close()
	sub, err := server.Subscribe(subject, func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		return nil, fmt.Errorf("bench rtt: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := server.Flush(); err != nil {
		return nil, fmt.Errorf("bench rtt: %w", err)
	}
	client, err := nats.Connect(url, nats.Name("cloister-bench-requester"))
	if err != nil {
		return nil, fmt.Errorf("bench rtt: %w", err)
	}
	defer client.Close()
	payload := make([]byte, size)
	rtts := make([]time.Duration, n)
	for i := range rtts {
		start := time.Now()
		if _, err := client.Request(subject, payload, 10*time.Second); err != nil {
			return nil, fmt.Errorf("bench rtt: request %d: %w", i, err)
		}
		rtts[i] = time.Since(start)
	}
	return rtts, nil
}
