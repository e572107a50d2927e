// Package egress is outgoing HTTP as a capability: a Grant is an allowlist
// (URL prefixes, methods) with bounds (timeout, response size, concurrent
// requests) and headers the host adds, whose values the tenant never sees.
// A script holding a capability to a Grant can fetch what it allows and
// nothing else; there is no ambient fetch.
//
// It is safe against server-side request forgery by construction: the
// address is checked when the connection is dialled, after DNS resolution
// (net.Dialer's Control function), so neither a hostname that resolves to a
// private address nor DNS rebinding reaches loopback, private, link-local
// (cloud metadata), shared or unspecified ranges unless the grant names the
// network; every redirect (at most 5) is checked against the allowlist
// again, and dialled under the same check. Proxies from the environment
// are ignored.
package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"strings"
	"syscall"
	"time"
)

// ErrDenied is a request the grant does not allow. It is a refusal, not a
// network failure: a script sees it as a CapabilityError.
var ErrDenied = errors.New("egress denied")

// Defaults of a Grant's zero bounds.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMaxResponse   = 1 << 20
	DefaultMaxConcurrent = 4
	MaxRedirects         = 5
	// MaxRequestHeaderBytes bounds the headers a tenant puts on a request
	// (names, values, separators), as the transport bounds a response's:
	// strings shared in a script's heap would otherwise go out as many
	// times as the script names them.
	MaxRequestHeaderBytes = 64 << 10
)

// Policy is what a grant allows.
type Policy struct {
	Allow         []string          // URL prefixes, scheme and host included ("https://api.example.com/v1/")
	Methods       []string          // upper case; empty means GET and HEAD
	Timeout       time.Duration     // the whole request, redirects and body included
	MaxResponse   int64             // bytes of a response body
	MaxConcurrent int               // requests in flight at once
	Headers       map[string]string // added by the host; the tenant never sees them
	Networks      []netip.Prefix    // private ranges this grant may reach anyway
}

// Grant is a policy made usable: it is a capability target, so a script
// gets it in ctx.env like a process.
type Grant struct {
	id     uint64
	name   string
	policy Policy
	allow  []prefix // policy.Allow, parsed once
	client *http.Client
	sem    chan struct{}
}

// prefix is an allowed URL prefix in the form a URL is compared in.
type prefix struct {
	norm string // scheme and host lower case, the path as sent
	dir  bool   // norm matches whole path segments below it, "/" trimmed
}

var nextID = uint64(1 << 62) // apart from process ids

// New checks p and returns a grant named name (for errors and logs).
func New(name string, p Policy) (*Grant, error) {
	if len(p.Allow) == 0 {
		return nil, fmt.Errorf("egress %q: allow: at least one URL prefix", name)
	}
	allow := make([]prefix, len(p.Allow))
	for k, a := range p.Allow {
		u, err := parsePrefix(a)
		if err != nil {
			return nil, fmt.Errorf("egress %q: allow %q: %v", name, a, err)
		}
		allow[k] = newPrefix(a, u)
	}
	if len(p.Methods) == 0 {
		p.Methods = []string{"GET", "HEAD"}
	}
	for k, m := range p.Methods {
		p.Methods[k] = strings.ToUpper(m)
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.MaxResponse <= 0 {
		p.MaxResponse = DefaultMaxResponse
	}
	if p.MaxConcurrent <= 0 {
		p.MaxConcurrent = DefaultMaxConcurrent
	}
	nextID++
	g := &Grant{id: nextID, name: name, policy: p, allow: allow, sem: make(chan struct{}, p.MaxConcurrent)}
	tr := &http.Transport{
		Proxy:                  nil, // never the environment's proxy: it would dial for us, unchecked
		DialContext:            g.dial,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           p.MaxConcurrent,
		IdleConnTimeout:        30 * time.Second,
		TLSHandshakeTimeout:    p.Timeout,
		ResponseHeaderTimeout:  p.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	g.client = &http.Client{Transport: tr, Timeout: p.Timeout, CheckRedirect: g.checkRedirect}
	return g, nil
}

// parseURL parses u as http.NewRequest does, an empty port dropped
// ("host:" is "host").
func parseURL(u string) (*neturl.URL, error) {
	p, err := neturl.Parse(u)
	if err != nil {
		return nil, err
	}
	if i := strings.LastIndexByte(p.Host, ':'); i >= 0 && i > strings.LastIndexByte(p.Host, ']') {
		p.Host = strings.TrimSuffix(p.Host, ":")
	}
	return p, nil
}

func parsePrefix(a string) (*neturl.URL, error) {
	u, err := parseURL(a)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("the scheme must be http or https")
	}
	if u.Host == "" {
		return nil, errors.New("a prefix names a host")
	}
	return u, nil
}

// normURL is the form u is compared in: scheme and host lower case, no
// userinfo, the path as sent.
func normURL(u *neturl.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.RequestURI()
}

// newPrefix makes the prefix of text a, parsed as u. One that ends in "/"
// or names a host alone matches whole segments below it; any other
// matches itself, and what continues it with "/" or "?".
func newPrefix(a string, u *neturl.URL) prefix {
	pre := normURL(u)
	if strings.HasSuffix(a, "/") || u.Path == "" || u.Path == "/" {
		return prefix{norm: strings.TrimSuffix(pre, "/"), dir: true}
	}
	return prefix{norm: pre}
}

// match reports whether norm, a URL in the form normURL makes, is under p.
func (p prefix) match(norm string) bool {
	if !strings.HasPrefix(norm, p.norm) {
		return false
	}
	if len(norm) == len(p.norm) {
		return true
	}
	c := norm[len(p.norm)]
	return c == '/' || c == '?' && !p.dir
}

// TargetID implements capability.Target.
func (g *Grant) TargetID() uint64 { return g.id }

// Name is the grant's name.
func (g *Grant) Name() string { return g.name }

// Policy returns the grant's policy, defaults filled in (headers included:
// the host's business only).
func (g *Grant) Policy() Policy { return g.policy }

// Allowed checks method and URL against the allowlist.
func (g *Grant) Allowed(method, url string) error {
	ok := false
	for _, m := range g.policy.Methods {
		if m == method {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: method %s is not allowed by grant %q (allowed: %s)", ErrDenied, method, g.name, strings.Join(g.policy.Methods, ", "))
	}
	u, err := parseURL(url)
	if err == nil && dotSegment(u) {
		return fmt.Errorf("%w: %s has a '.' or '..' path segment (plain or percent-encoded), which could leave grant %q's prefixes on the server", ErrDenied, url, g.name)
	}
	if err != nil || !g.urlAllowed(u) {
		return fmt.Errorf("%w: %s is not under a prefix of grant %q", ErrDenied, url, g.name)
	}
	return nil
}

// dotSegment reports whether u's path has a segment that a server may
// resolve as "." or "..": plain, percent-encoded ("%2e%2e"), or hidden
// behind an encoded slash or backslash ("..%2f"). Prefixes are compared
// as text, so such a path could be under a prefix here and outside it on
// the server. An encoded slash between other names ("group%2Fproject")
// is left alone.
func dotSegment(u *neturl.URL) bool {
	rest := u.EscapedPath()
	for rest != "" {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		if d, err := neturl.PathUnescape(seg); err == nil {
			seg = d
		}
		// The parts of seg between decoded slashes and backslashes.
		for seg != "" {
			i := strings.IndexAny(seg, "/\\")
			part := seg
			if i >= 0 {
				part, seg = seg[:i], seg[i+1:]
			} else {
				seg = ""
			}
			if part == "." || part == ".." {
				return true
			}
		}
	}
	return false
}

// urlAllowed reports whether u is under one of the grant's prefixes; a URL
// with userinfo or a dot segment never is.
func (g *Grant) urlAllowed(u *neturl.URL) bool {
	if u.User != nil || dotSegment(u) {
		return false
	}
	norm := normURL(u)
	for _, p := range g.allow {
		if p.match(norm) {
			return true
		}
	}
	return false
}

func (g *Grant) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrDenied, MaxRedirects)
	}
	if err := g.Allowed(req.Method, req.URL.String()); err != nil {
		return fmt.Errorf("redirect: %w", err)
	}
	// The host's headers go only where the grant allows, which the check
	// above ensures; Go drops Authorization on a change of host anyway.
	return nil
}

// dial dials addr (host:port as the request named it) under control,
// which then knows the host the tenant asked for.
func (g *Grant) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	d := net.Dialer{Timeout: g.policy.Timeout, Control: func(network, address string, _ syscall.RawConn) error {
		return g.control(host, address)
	}}
	return d.DialContext(ctx, network, addr)
}

// control checks address, what host resolved to, as it is dialled.
func (g *Grant) control(host, address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &AddrRefusal{Grant: g.name, Host: host, Reason: "not an address"}
	}
	ip := ap.Addr().Unmap()
	for _, n := range g.policy.Networks {
		if n.Contains(ip) {
			return nil
		}
	}
	if reason := forbidden(ip); reason != "" {
		return &AddrRefusal{Grant: g.name, Host: host, Addr: ip, Reason: reason}
	}
	return nil
}

// AddrRefusal is a dial refused for the address a host resolved to. Its
// message names the host and the class of the address, never the address:
// a tenant sees it, and must not learn where its hostnames point inside
// the network. Addr is there for the operator's log (errors.As).
type AddrRefusal struct {
	Grant  string
	Host   string     // as the request named it
	Addr   netip.Addr // what it resolved to; the zero Addr if unknown
	Reason string     // the class of address: "loopback", "private", ...
}

func (e *AddrRefusal) Error() string {
	if a, err := netip.ParseAddr(strings.Trim(e.Host, "[]")); err == nil && a.IsValid() {
		return fmt.Sprintf("%s: %s is %s, which grant %q does not allow", ErrDenied, e.Host, e.Reason, e.Grant)
	}
	return fmt.Sprintf("%s: %s resolves to an address that is %s, which grant %q does not allow", ErrDenied, e.Host, e.Reason, e.Grant)
}

// Unwrap makes an AddrRefusal an ErrDenied.
func (e *AddrRefusal) Unwrap() error { return ErrDenied }

var (
	sharedNet  = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT
	thisNet    = netip.MustParsePrefix("0.0.0.0/8")
	benchNet   = netip.MustParsePrefix("198.18.0.0/15")
	nat64Net   = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour  = netip.MustParsePrefix("2002::/16")
	teredoNet  = netip.MustParsePrefix("2001::/32")
	reservedV4 = netip.MustParsePrefix("240.0.0.0/4")
)

// forbidden says why ip may not be dialled, or "".
func forbidden(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "not an address"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsUnspecified() || thisNet.Contains(ip):
		return "unspecified"
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return "link-local (cloud metadata lives there)"
	case ip.IsPrivate():
		return "private"
	case ip.IsMulticast() || ip.IsInterfaceLocalMulticast():
		return "multicast"
	case sharedNet.Contains(ip):
		return "shared address space"
	case benchNet.Contains(ip), reservedV4.Contains(ip):
		return "reserved"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	case nat64Net.Contains(ip), sixToFour.Contains(ip), teredoNet.Contains(ip):
		return "an IPv6 tunnel to IPv4"
	}
	return ""
}

// Request is what a script asks to fetch.
type Request struct {
	Method  string
	URL     string
	Headers [][2]string
	Body    []byte
}

// Response is what came back.
type Response struct {
	Status  int
	URL     string // after redirects
	Headers [][2]string
	Body    []byte
}

// ErrBusy is a request over the grant's max_concurrent.
var ErrBusy = errors.New("too many requests in flight")

// Do sends r under the grant: the allowlist first, then the bounds. An
// error wrapping ErrDenied is a refusal; any other is a network failure.
func (g *Grant) Do(ctx context.Context, r Request) (*Response, error) {
	if r.Method == "" {
		r.Method = "GET"
	}
	if err := g.Allowed(r.Method, r.URL); err != nil {
		return nil, err
	}
	hb := 0
	for _, h := range r.Headers {
		hb += len(h[0]) + len(h[1]) + 4 // ": " and CRLF
	}
	if hb > MaxRequestHeaderBytes {
		return nil, fmt.Errorf("%w: the request's headers are %d bytes, over the limit of %d", ErrDenied, hb, MaxRequestHeaderBytes)
	}
	select {
	case g.sem <- struct{}{}:
		defer func() { <-g.sem }()
	default:
		return nil, fmt.Errorf("%w: %w: grant %q allows %d", ErrDenied, ErrBusy, g.name, g.policy.MaxConcurrent)
	}
	ctx, cancel := context.WithTimeout(ctx, g.policy.Timeout)
	defer cancel()
	var body io.Reader
	if len(r.Body) > 0 {
		body = strings.NewReader(string(r.Body))
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	for _, h := range r.Headers {
		req.Header.Add(h[0], h[1])
	}
	for k, v := range g.policy.Headers {
		req.Header.Set(k, v) // the host's win over the tenant's
	}
	res, err := g.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrDenied) {
			return nil, denied(err)
		}
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, g.policy.MaxResponse+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > g.policy.MaxResponse {
		return nil, fmt.Errorf("%w: the response of %s is over grant %q's max_response of %d bytes", ErrDenied, r.URL, g.name, g.policy.MaxResponse)
	}
	out := &Response{Status: res.StatusCode, URL: res.Request.URL.String(), Body: b}
	for k, vs := range res.Header {
		for _, v := range vs {
			out.Headers = append(out.Headers, [2]string{strings.ToLower(k), v})
		}
	}
	return out, nil
}

// denied keeps the refusal's own message, without the client's wrapping
// (which names the resolved address: "dial tcp 10.0.0.5:80: ...").
func denied(err error) error {
	if ar := (*AddrRefusal)(nil); errors.As(err, &ar) {
		return ar
	}
	msg := err.Error()
	if i := strings.Index(msg, ErrDenied.Error()); i >= 0 {
		return fmt.Errorf("%w%s", ErrDenied, msg[i+len(ErrDenied.Error()):])
	}
	return fmt.Errorf("%w: %s", ErrDenied, msg)
}

// Narrow returns a grant allowing only prefixes, each of which this grant
// allows: what a script's attenuate makes, to pass on less than it holds.
// It keeps the bounds and the host's headers, and shares the concurrency
// bound with this grant.
func (g *Grant) Narrow(prefixes []string) (*Grant, error) {
	if len(prefixes) == 0 || len(prefixes) > 100 {
		return nil, fmt.Errorf("%w: attenuate: give 1 to 100 URL prefixes", ErrDenied)
	}
	for _, p := range prefixes {
		u, err := parsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("attenuate: prefix %q: %v", p, err)
		}
		if !g.urlAllowed(u) {
			return nil, fmt.Errorf("%w: attenuate: %s is not within grant %q", ErrDenied, p, g.name)
		}
	}
	p := g.policy
	p.Allow = append([]string(nil), prefixes...)
	p.Methods = append([]string(nil), g.policy.Methods...)
	sub, err := New(g.name, p)
	if err != nil {
		return nil, err
	}
	sub.sem = g.sem
	return sub, nil
}
