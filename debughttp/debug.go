package debughttp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/actor"
)

//go:embed ui
var uiFS embed.FS

// Config configures the endpoint.
type Config struct {
	// Node is the node to serve.
	Node *actor.Node
	// Token is the bearer token that POST routes need ("Authorization:
	// Bearer <token>"). Empty refuses every mutating request.
	Token string
	// Private makes every route that returns data need the token too, as
	// an endpoint reachable beyond loopback must. The page's static shell
	// (/ and /ui/) carries no data and stays open so a browser can load it.
	Private bool
	// Metrics serves GET /metrics; nil answers 404.
	Metrics http.Handler
	// InspectTimeout bounds GET /debug/processes/{id}/state, which waits
	// behind the messages queued for the process; 0 means 2 s.
	InspectTimeout time.Duration
	// Logger receives the operator actions; nil discards them.
	Logger *slog.Logger
	// Hosts are the host names or IP addresses, besides the loopback ones
	// (localhost, *.localhost, 127.0.0.0/8, ::1), that a request's Host
	// header may name, without a port: typically the host the endpoint
	// listens on. "*" accepts any host; use it only with Private, where
	// every data route needs the token. Other hosts are refused with 421.
	Hosts []string
}

// Limits on requests.
const (
	maxBodyBytes   = 1 << 12 // no route reads a body
	maxHeaderBytes = 1 << 14
	maxIDLen       = 20 // digits in the largest uint64
)

// NewToken returns a random token of 128 bits, hex-encoded.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewServer returns an http.Server for the endpoint with timeouts and size
// limits that a slow or oversized client cannot get past.
func NewServer(cfg Config) *http.Server {
	return &http.Server{
		Handler:           Handler(cfg),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// Handler returns the endpoint's routes.
func Handler(cfg Config) http.Handler {
	if cfg.InspectTimeout <= 0 {
		cfg.InspectTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, crashes: countCrashes(cfg.Node)}
	if cfg.Token != "" {
		sum := sha256.Sum256([]byte(cfg.Token))
		s.tokenSum = sum[:]
	}
	ui, _ := fs.Sub(uiFS, "ui")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.Handle("GET /ui/", http.StripPrefix("/ui/", http.FileServerFS(ui)))
	mux.HandleFunc("GET /debug/tree", s.read(s.tree))
	mux.HandleFunc("GET /debug/processes", s.read(s.table))
	mux.HandleFunc("GET /debug/stats", s.read(s.stats))
	mux.HandleFunc("GET /debug/cluster", s.read(s.cluster))
	mux.HandleFunc("GET /debug/processes/{id}", s.read(s.process))
	mux.HandleFunc("GET /debug/processes/{id}/state", s.read(s.state))
	// Stored data is the tenant's own, not a view it chose to give as
	// inspect() is: it needs the token even on loopback.
	mux.HandleFunc("GET /debug/processes/{id}/storage", s.write(s.storageDump))
	mux.HandleFunc("POST /debug/processes/{id}/{action}", s.write(s.act))
	mux.HandleFunc("GET /metrics", s.read(s.metrics))
	return http.MaxBytesHandler(secure(s.checkHost(mux)), maxBodyBytes)
}

// checkHost refuses a request whose Host header names a host the endpoint
// does not serve: the guard against DNS rebinding.
func (s *server) checkHost(h http.Handler) http.Handler {
	allowed := make(map[string]bool, len(s.cfg.Hosts))
	anyHost := false
	for _, name := range s.cfg.Hosts {
		if name == "*" {
			anyHost = true
		}
		allowed[normalHost(name)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := hostOnly(r.Host)
		if !anyHost && !allowed[host] && !loopbackHost(host) {
			http.Error(w, fmt.Sprintf("421 misdirected request: this debug endpoint does not answer to host %q; "+
				"use a loopback address such as 127.0.0.1, or add the name to the endpoint's allowed hosts", clip(r.Host)),
				http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hostOnly is the host of a Host header, without its port, normalized.
func hostOnly(hostport string) string {
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		if strings.Trim(port, "0123456789") != "" {
			return "" // "localhost:80@evil.example" names no port, and no host a browser sends
		}
		return normalHost(h)
	}
	return normalHost(hostport)
}

// normalHost lowercases a host name, drops a trailing dot and the brackets
// of an IPv6 literal.
func normalHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// loopbackHost reports whether host is a loopback IP or a name that always
// resolves to loopback.
func loopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		// Only a DNS name: "evil.example#.localhost" is none.
		return strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789-.") == ""
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// clip shortens what a client sent before it is echoed back.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

type server struct {
	cfg      Config
	tokenSum []byte // sha256 of the token, nil when there is none
	crashes  *crashCount
}

// secure sets the headers every response carries.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.ServeHTTP(w, r)
	})
}

// authorized reports whether r carries the token, comparing in constant
// time (hashes, so not even the length leaks).
func (s *server) authorized(r *http.Request) bool {
	if s.tokenSum == nil {
		return false
	}
	auth := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(auth) < len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return false
	}
	sum := sha256.Sum256([]byte(auth[len(prefix):]))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum) == 1
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="cloister"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// read guards a route that returns data: open on loopback, token-only when
// the endpoint is private.
func (s *server) read(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Private && !s.authorized(r) {
			unauthorized(w)
			return
		}
		h(w, r)
	}
}

// write guards a mutating route: it always needs the token.
func (s *server) write(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			unauthorized(w)
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// problem is the body of every error answer from a JSON route.
type problem struct {
	Error string `json:"error"`
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, problem{Error: msg})
}

func (s *server) page(w http.ResponseWriter, r *http.Request) {
	b, err := uiFS.ReadFile("ui/index.html")
	if err != nil {
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b)
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		http.NotFound(w, r)
		return
	}
	s.cfg.Metrics.ServeHTTP(w, r)
}

func (s *server) tree(w http.ResponseWriter, r *http.Request) {
	root := s.cfg.Node.Root()
	if root == nil {
		fail(w, http.StatusServiceUnavailable, "node not started")
		return
	}
	if raw := r.URL.Query().Get("children"); raw != "" {
		n, err := queryInt(raw, 0)
		if err != nil || n < 1 || n > maxTableLimit {
			fail(w, http.StatusBadRequest, fmt.Sprintf("children: 1 to %d", maxTableLimit))
			return
		}
		writeJSON(w, http.StatusOK, TreeBounded(root, n))
		return
	}
	writeJSON(w, http.StatusOK, TreeBounded(root, defaultTreeChildren))
}

// defaultTreeChildren bounds the children GET /debug/tree shows under each
// supervisor when ?children does not say: the page's own bound.
const defaultTreeChildren = 200

// lookup resolves the {id} of a route, answering 400 for an id that is not
// a decimal number and 404 for one that names no process.
func (s *server) lookup(w http.ResponseWriter, r *http.Request) (*actor.Process, bool) {
	raw := r.PathValue("id")
	id, err := parseID(raw)
	if err != nil {
		fail(w, http.StatusBadRequest, "malformed process id: want a decimal number")
		return nil, false
	}
	p, ok := s.cfg.Node.Process(id)
	if !ok {
		fail(w, http.StatusNotFound, "no such process")
		return nil, false
	}
	return p, true
}

// parseID accepts 1 to 20 ASCII digits and nothing else: no sign, no
// spaces, no leading zeros.
func parseID(s string) (uint64, error) {
	if s == "" || len(s) > maxIDLen || (len(s) > 1 && s[0] == '0') {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

func (s *server) process(w http.ResponseWriter, r *http.Request) {
	p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, Details(p))
}

func (s *server) state(w http.ResponseWriter, r *http.Request) {
	p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.InspectTimeout)
	defer cancel()
	data, err := s.cfg.Node.Inspect(ctx, p.ID())
	switch {
	case errors.Is(err, actor.ErrNoInspect):
		fail(w, http.StatusNotFound, "the script exports no inspect()")
		return
	case errors.Is(err, actor.ErrConflict):
		fail(w, http.StatusConflict, err.Error())
		return
	case errors.Is(err, context.DeadlineExceeded):
		fail(w, http.StatusGatewayTimeout, "the process did not answer in time")
		return
	case errors.Is(err, context.Canceled):
		return // the client went away
	case err != nil:
		fail(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	v, err := toJSONValue(data)
	if err != nil {
		fail(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ID          uint64 `json:"id"`
		Path        string `json:"path"`
		Incarnation uint64 `json:"incarnation"`
		State       any    `json:"state"`
	}{p.ID(), p.Path(), p.Incarnation(), v})
}

// actionResult is the body of a 202 answer to an operator action.
type actionResult struct {
	ID          uint64 `json:"id"`
	Path        string `json:"path"`
	Action      string `json:"action"`
	Incarnation uint64 `json:"incarnation"`
}

func (s *server) act(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	var do func(uint64) error
	switch action {
	case "stop":
		do = s.cfg.Node.Stop
	case "kill":
		do = s.cfg.Node.Kill
	case "restart":
		do = s.cfg.Node.Restart
	default:
		fail(w, http.StatusNotFound, "unknown action: want stop, kill or restart")
		return
	}
	p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	inc := p.Incarnation()
	err := do(p.ID())
	switch {
	case errors.Is(err, actor.ErrConflict):
		fail(w, http.StatusConflict, err.Error())
		return
	case errors.Is(err, actor.ErrNoProcess):
		fail(w, http.StatusNotFound, "no such process")
		return
	case err != nil:
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.cfg.Logger.Info("operator action", "action", action, "process", p.Path(), "remote", r.RemoteAddr)
	writeJSON(w, http.StatusAccepted, actionResult{ID: p.ID(), Path: p.Path(), Action: action, Incarnation: inc})
}
