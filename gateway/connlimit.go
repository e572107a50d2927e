package gateway

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// A slow client costs its connection: a goroutine and the server's
// buffers, a few KiB, until read_header_timeout, body_timeout, read_timeout
// or idle_timeout cuts it. The listener bounds how many it holds, in all
// (max_connections) and from one client address (max_connections_per_ip;
// an IPv6 client is counted by its /64, the block one host is usually
// given). A connection past either bound is closed as it is accepted,
// before a byte of it is read; so one address cannot hold the gateway's
// connections, and many addresses together hold at most max_connections.
// A WebSocket's connection counts until it closes.

// ConnStats is what the listener holds and has refused.
type ConnStats struct {
	Open    int64 // connections open now, WebSockets included
	Refused int64 // connections closed at once for a bound, since the gateway was made
}

// Conns reports the gateway's connections.
func (g *Gateway) Conns() ConnStats {
	return ConnStats{Open: g.connStats.open.Load(), Refused: g.connStats.refused.Load()}
}

type connCounters struct{ open, refused atomic.Int64 }

// limitListener admits a connection only within the bounds above.
type limitListener struct {
	net.Listener
	max, perIP int
	stats      *connCounters

	mu   sync.Mutex
	open int
	byIP map[netip.Addr]int
}

func newLimitListener(ln net.Listener, max, perIP int, stats *connCounters) *limitListener {
	return &limitListener{Listener: ln, max: max, perIP: perIP, stats: stats, byIP: make(map[netip.Addr]int)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(c.RemoteAddr())
		if l.admit(key) {
			return &limitConn{Conn: c, l: l, key: key}, nil
		}
		l.stats.refused.Add(1)
		_ = c.Close()
	}
}

// clientKey is the address a connection is counted under: the client's
// IPv4 address, or the /64 of its IPv6 address.
func clientKey(a net.Addr) netip.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{} // all such connections share one count
	}
	ip := ta.AddrPort().Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

func (l *limitListener) admit(key netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max || l.byIP[key] >= l.perIP {
		return false
	}
	l.open++
	l.byIP[key]++
	l.stats.open.Add(1)
	return true
}

func (l *limitListener) release(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byIP[key]--; l.byIP[key] <= 0 {
		delete(l.byIP, key)
	}
	l.stats.open.Add(-1)
}

// limitConn gives its place back when it is closed, once, whoever closes
// it (the server, or the WebSocket that took the connection over).
type limitConn struct {
	net.Conn
	l    *limitListener
	key  netip.Addr
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// CloseWrite passes the half-close the server uses before it closes a
// connection on an error, so the client reads the answer first.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
