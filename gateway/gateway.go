package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/isolate"

	"github.com/vmihailenco/msgpack/v5"
)

// ReceiverName is the Go receiver name under which a program registers a
// Gateway (Options.Receivers), and which its ChildSpec names in Go.
const ReceiverName = "cloister.http"

// Defaults of Config's zero fields.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 32 << 10
	DefaultMaxBody           = 1 << 20
	DefaultBodyTimeout       = 10 * time.Second
	DefaultBodyBuffer        = 64 << 20
	DefaultTimeout           = 10 * time.Second
	DefaultDrain             = 10 * time.Second
	DefaultMaxConns          = 10_000
	DefaultMaxConnsPerIP     = 256
)

// Config is a gateway: where it listens, its routes and the server's
// bounds. Zero durations and sizes take the defaults above.
type Config struct {
	Addr   string // host:port; port 0 picks a free one (see Gateway.Addr)
	Routes []Route

	ReadHeaderTimeout time.Duration // slowloris: the time to send the headers
	ReadTimeout       time.Duration // the whole request, body included
	WriteTimeout      time.Duration // from the end of the headers to the end of the answer
	IdleTimeout       time.Duration // a kept-alive connection between requests
	MaxHeaderBytes    int
	MaxBody           int64         // bytes of a request body, before the target's message_bytes
	BodyTimeout       time.Duration // the longest a request body may send nothing
	BodyBuffer        int64         // bytes of bodies the routes without max_inflight hold at once; at least MaxBody
	MaxConns          int           // connections held at once, WebSockets included
	MaxConnsPerIP     int           // of those, from one client address (an IPv6 /64); at most MaxConns
	Drain             time.Duration // how long a stop waits for requests in flight
}

// Route sends requests matching Pattern (a Go 1.22 ServeMux pattern such as
// "GET /counter" or "/rooms/{room}/") to the process granted to the
// gateway under the name Grant. With Key set, that process is a template
// supervisor and the path wildcard Key names the child.
type Route struct {
	Pattern     string
	Grant       string
	Key         string
	Timeout     time.Duration // the answer's deadline; 0 means DefaultTimeout
	MaxInflight int           // requests at once on this route; 0 means no bound but the mailbox's
	MaxSockets  int           // WebSockets one actor may hold; 0 means DefaultMaxSockets
	MaxFrame    int           // bytes of a message from a WebSocket client; 0 means DefaultMaxFrame
}

// Gateway is an HTTP server run as a Go actor. Register its Receiver under
// ReceiverName and put a child with that Go receiver in the tree, granted
// send (and for keyed routes spawn) on each route's target.
type Gateway struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	srv  *http.Server
	addr net.Addr
	done chan struct{} // closed when the current server's Serve returns

	conns     conns        // WebSockets, which the server's Shutdown does not track
	bodies    bodyCounters // request bodies held, over every incarnation
	connStats connCounters // connections held and refused, over every incarnation
}

// New checks cfg and returns a gateway. Patterns are checked here, so a
// bad one is refused before the node starts.
func New(cfg Config) (*Gateway, error) {
	if cfg.Addr == "" {
		return nil, errors.New("http: listen address is required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&cfg.ReadTimeout, DefaultReadTimeout)
	def(&cfg.WriteTimeout, DefaultWriteTimeout)
	def(&cfg.IdleTimeout, DefaultIdleTimeout)
	def(&cfg.Drain, DefaultDrain)
	def(&cfg.BodyTimeout, DefaultBodyTimeout)
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxConnsPerIP <= 0 {
		cfg.MaxConnsPerIP = min(DefaultMaxConnsPerIP, cfg.MaxConns)
	}
	if cfg.MaxConnsPerIP > cfg.MaxConns {
		return nil, fmt.Errorf("http: max_connections_per_ip %d is more than max_connections %d", cfg.MaxConnsPerIP, cfg.MaxConns)
	}
	switch {
	case cfg.BodyBuffer <= 0:
		cfg.BodyBuffer = max(DefaultBodyBuffer, cfg.MaxBody)
	case cfg.BodyBuffer < cfg.MaxBody:
		return nil, fmt.Errorf("http: body_buffer %d is less than max_body %d", cfg.BodyBuffer, cfg.MaxBody)
	}
	cfg.Routes = append([]Route(nil), cfg.Routes...)
	mux := http.NewServeMux()
	for k := range cfg.Routes {
		r := &cfg.Routes[k]
		def(&r.Timeout, DefaultTimeout)
		if r.MaxSockets <= 0 {
			r.MaxSockets = DefaultMaxSockets
		}
		if r.MaxFrame <= 0 {
			r.MaxFrame = DefaultMaxFrame
		}
		if r.Grant == "" {
			return nil, fmt.Errorf("http: route %q: no target", r.Pattern)
		}
		if err := register(mux, r.Pattern, http.NotFoundHandler()); err != nil {
			return nil, err
		}
		if r.Key != "" && !hasWildcard(r.Pattern, r.Key) {
			return nil, fmt.Errorf("http: route %q: key %q is not a wildcard of the pattern", r.Pattern, r.Key)
		}
		if r.MaxInflight < 0 {
			return nil, fmt.Errorf("http: route %q: max_inflight must not be negative", r.Pattern)
		}
	}
	return &Gateway{cfg: cfg}, nil
}

// CheckPattern reports whether pattern is a ServeMux pattern, and if key is
// set, whether it has the wildcard key.
func CheckPattern(pattern, key string) error {
	if err := register(http.NewServeMux(), pattern, http.NotFoundHandler()); err != nil {
		return err
	}
	if key != "" && !hasWildcard(pattern, key) {
		return fmt.Errorf("key %q is not a wildcard of the pattern %q", key, pattern)
	}
	return nil
}

// register adds a pattern to mux, turning ServeMux's panic on a bad or
// conflicting pattern into an error.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("http: route %q: %v", pattern, v)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

func hasWildcard(pattern, name string) bool {
	return strings.Contains(pattern, "{"+name+"}") || strings.Contains(pattern, "{"+name+"...}")
}

// Receiver is the factory to register under ReceiverName.
func (g *Gateway) Receiver() actor.Receiver { return &incarnation{g: g} }

// Addr is the address the gateway listens on, once started; nil before.
func (g *Gateway) Addr() net.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addr
}

// Config returns the gateway's configuration, defaults filled in.
func (g *Gateway) Config() Config { return g.cfg }

// incarnation is one run of the gateway: Init opens the listener and
// serves, Terminate drains.
type incarnation struct {
	g *Gateway
}

func (in *incarnation) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case actor.Init:
		if err := in.g.start(c); err != nil {
			panic(err) // fails the start: the node's Start or the restart reports it
		}
	case actor.Terminate:
		in.g.stop()
	case actor.Message:
		if c.IsCall() {
			_ = c.Fail(errors.New("the HTTP gateway takes no messages"))
		}
	}
}

// start closes what a crashed incarnation left open, then listens and
// serves.
func (g *Gateway) start(c *actor.Context) error {
	g.stop()
	node := c.Node()
	g.log = c.Log()
	mux := http.NewServeMux()
	shared := &budget{max: g.cfg.BodyBuffer, stats: &g.bodies}
	for k := range g.cfg.Routes {
		r := &g.cfg.Routes[k]
		to, ok := c.Env(r.Grant)
		if !ok {
			return fmt.Errorf("http: route %q: no grant %q", r.Pattern, r.Grant)
		}
		h := &handler{g: g, node: node, route: r, to: to, bodies: routeBudget(r, g.cfg.MaxBody, shared)}
		if r.MaxInflight > 0 {
			h.sem = make(chan struct{}, r.MaxInflight)
		}
		if err := register(mux, r.Pattern, h); err != nil {
			return err
		}
	}
	tcp, err := net.Listen("tcp", g.cfg.Addr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	ln := newLimitListener(tcp, g.cfg.MaxConns, g.cfg.MaxConnsPerIP, &g.connStats)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: g.cfg.ReadHeaderTimeout,
		ReadTimeout:       g.cfg.ReadTimeout,
		WriteTimeout:      g.cfg.WriteTimeout,
		IdleTimeout:       g.cfg.IdleTimeout,
		MaxHeaderBytes:    g.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	g.conns.reset()
	g.mu.Lock()
	g.srv, g.addr, g.done = srv, ln.Addr(), done
	g.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("http gateway stopped", "error", err)
		}
	}()
	g.log.Info("http gateway listening", "addr", ln.Addr().String(), "routes", len(g.cfg.Routes))
	return nil
}

// stop drains the requests in flight within the drain time, then closes
// what is left.
func (g *Gateway) stop() {
	g.mu.Lock()
	srv, done := g.srv, g.done
	g.srv = nil
	g.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Drain)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
	<-done
	g.conns.closeAll()
}

// handler serves one route.
type handler struct {
	g      *Gateway
	node   *actor.Node
	route  *Route
	to     *capability.Capability
	sem    chan struct{}
	bodies *budget
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqURL := requestURL(r)
	if err := isolate.CheckURL(reqURL); err != nil {
		// A Host header Go's server takes ("[", "a%zz") but no URL
		// parser does: refused before any actor could choke on it.
		h.g.log.Debug("http: request URL refused", "route", h.route.Pattern, "error", err)
		fail(w, http.StatusBadRequest)
		return
	}
	key := ""
	if h.route.Key != "" {
		key = r.PathValue(h.route.Key)
		if err := actor.CheckKey(key); err != nil {
			fail(w, http.StatusBadRequest)
			return
		}
	}
	if h.sem != nil && len(h.sem) == cap(h.sem) {
		fail(w, http.StatusTooManyRequests) // refused before reading a byte of the body
		return
	}
	// The body is read before the route's slot is taken or a keyed actor
	// spawned: a client slow to send it holds neither, only the bytes it
	// sent, charged to the route's body budget.
	hold := bodyHold{b: h.bodies}
	defer hold.release()
	body, ok := h.readBody(w, r, &hold)
	if !ok {
		return
	}
	release := func() {}
	if h.sem != nil {
		select {
		case h.sem <- struct{}{}:
			var once sync.Once
			release = func() { once.Do(func() { <-h.sem }) }
			defer release()
		default:
			fail(w, http.StatusTooManyRequests)
			return
		}
	}
	to := h.to
	ctx, cancel := context.WithTimeout(r.Context(), h.route.Timeout)
	defer cancel()
	if h.route.Key != "" {
		c, err := h.node.SpawnKeyed(ctx, to, key)
		if err != nil {
			h.failed(w, r, err)
			return
		}
		to = c
	}
	req := isolate.HTTPRequest{Method: r.Method, URL: reqURL, Body: body}
	if isUpgrade(r) {
		req.Sockets = h.route.MaxSockets
	}
	for name, vs := range r.Header {
		for _, v := range vs {
			req.Headers = append(req.Headers, [2]string{name, isolate.HeaderText(v)})
		}
	}
	env, err := codec.Encode(req)
	if err != nil {
		fail(w, http.StatusInternalServerError)
		return
	}
	ans, err := h.node.Fetch(ctx, to, env)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	var res isolate.HTTPResponse
	if err := msgpack.Unmarshal(ans.Data(), &res); err != nil {
		h.g.log.Warn("http: fetch answered something unreadable", "route", h.route.Pattern, "error", err)
		fail(w, http.StatusInternalServerError)
		return
	}
	if res.Status == http.StatusSwitchingProtocols && res.WS != 0 && isUpgrade(r) {
		release() // a WebSocket is not a request in flight
		hold.release()
		cancel()
		h.upgrade(w, r, to, &res)
		return
	}
	if res.Bad != "" {
		h.g.log.Warn("http: fetch did not return a Response", "route", h.route.Pattern, "returned", res.Bad)
		fail(w, http.StatusInternalServerError)
		return
	}
	write(w, h.g.log, h.route.Pattern, &res)
}

// readBody reads the request's body within max_body and the route's
// body budget, answering the client when it cannot.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request, hold *bodyHold) ([]byte, bool) {
	maxBody := h.g.cfg.MaxBody
	if r.ContentLength > maxBody {
		cutRead(w)
		fail(w, http.StatusRequestEntityTooLarge)
		return nil, false
	}
	body, err := readBody(w, r, maxBody, h.g.cfg.BodyTimeout, hold)
	if err == nil {
		return body, true
	}
	hold.release()
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		fail(w, http.StatusRequestEntityTooLarge)
	case errors.Is(err, errNoBuffer):
		h.g.log.Debug("http: body refused", "route", h.route.Pattern, "error", err)
		cutRead(w)
		fail(w, http.StatusServiceUnavailable)
	case isTimeout(err):
		cutRead(w)
		fail(w, http.StatusRequestTimeout)
	default:
		fail(w, http.StatusBadRequest)
	}
	return nil, false
}

// requestURL rebuilds the absolute URL the client asked for.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	return scheme + "://" + host + r.URL.RequestURI()
}

// hopHeaders are set by the server, never by a tenant.
var hopHeaders = map[string]bool{
	"connection": true, "content-length": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "te": true, "trailer": true, "upgrade": true,
}

// write sends a tenant's response, checking every header again: the
// script's Headers refuse bad names and values, but the answer crossed
// the tenant's heap. A value goes out as bytes, one per character
// (isolate.HeaderBytes).
func write(w http.ResponseWriter, log *slog.Logger, route string, res *isolate.HTTPResponse) {
	if res.Status < 200 || res.Status > 599 {
		log.Warn("http: fetch answered a bad status", "route", route, "status", res.Status)
		fail(w, http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	for _, kv := range res.Headers {
		name := kv[0]
		value, ok := isolate.HeaderBytes(kv[1])
		if !ok || !validName(name) || !validValue(value) {
			log.Warn("http: fetch answered a bad header", "route", route, "header", truncate(name, 64))
			for k := range hdr {
				delete(hdr, k)
			}
			fail(w, http.StatusInternalServerError)
			return
		}
		if hopHeaders[strings.ToLower(name)] {
			continue
		}
		hdr.Add(name, value)
	}
	if res.Status != http.StatusNoContent && res.Status != http.StatusNotModified {
		hdr.Set("Content-Length", strconv.Itoa(len(res.Body)))
	}
	w.WriteHeader(res.Status)
	if len(res.Body) > 0 {
		_, _ = w.Write(res.Body)
	}
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// fail answers with a bare status: the reason stays in the node's log.
func fail(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status)+"\n")
}

// failed maps an error of a spawn or a fetch to a status.
func (h *handler) failed(w http.ResponseWriter, r *http.Request, err error) {
	status := Status(err)
	if r.Context().Err() != nil {
		return // the client went away: nobody to answer
	}
	lv := slog.LevelDebug
	if status >= 500 && status != http.StatusServiceUnavailable {
		lv = slog.LevelWarn
	}
	h.g.log.Log(r.Context(), lv, "http: request failed", "route", h.route.Pattern, "status", status, "error", err)
	fail(w, status)
}

// Status is the HTTP status for an error of Node.Fetch or Node.SpawnKeyed.
func Status(err error) int {
	switch {
	case errors.Is(err, isolate.ErrMailboxFull), errors.Is(err, actor.ErrTooManyChildren),
		errors.Is(err, isolate.ErrTooManyProcesses):
		return http.StatusServiceUnavailable
	case errors.Is(err, actor.ErrRequestTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, actor.ErrBadKey):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, isolate.ErrCallTimeout):
		return http.StatusGatewayTimeout
	case errors.Is(err, isolate.ErrNoFetch):
		return http.StatusNotImplemented
	case errors.Is(err, isolate.ErrNoProc):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}
