package isolate

import (
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/cloister-rt/cloister/mailbox"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
	"github.com/vmihailenco/msgpack/v5"
)

// The web classes (web.js) are compiled once per process and run in an
// isolate only when it first needs them: when its script reads one of
// their globals, or when an HTTP request arrives for its fetch export.
// Isolates that never touch them pay nothing.

//go:embed web.js
var webSource string

var (
	webOnce sync.Once
	webProg *goja.Program
	webErr  error
)

func webProgram() (*goja.Program, error) {
	webOnce.Do(func() { webProg, webErr = goja.Compile("cloister:web", webSource, true) })
	return webProg, webErr
}

// webGlobals are the globals the web group defines.
var webGlobals = []string{"Headers", "Request", "Response", "URL", "URLSearchParams",
	"TextEncoder", "TextDecoder", "AbortController", "AbortSignal", "DOMException", "WebSocket"}

// installWebTemplates adds the web globals to goja's process-wide template
// of the global object (see template.go): each is built in an isolate only
// when a script first reads it, so an actor that never touches them pays
// nothing. Called once, from installTemplateGuards.
func installWebTemplates() error {
	global := templates["globalThis"]
	// goja's factory of the global Object makes a data property that is
	// writable, configurable and not enumerable, the attributes of a
	// global class; each web global takes a fresh one and swaps its value.
	prop := globalFactories["Object"]
	if global == nil || prop == nil {
		return errors.New("goja's global template lacks Object")
	}
	for _, n := range webGlobals {
		key := unistring.String(n)
		if global[key] != nil {
			return fmt.Errorf("goja's global template already has %s", n)
		}
		global[key] = func(r *goja.Runtime) goja.Value {
			v := prop(r)
			b := builtinsOf(r)
			if b == nil {
				return goja.Undefined()
			}
			w, err := b.i.webLib()
			if err != nil {
				panic(r.NewTypeError("%s: %v", n, err))
			}
			rv := reflect.ValueOf(v)
			if rv.Type() != layout.vpType {
				panic(fmt.Sprintf("isolate: the global Object property is a %T", v))
			}
			*(*goja.Value)(unsafe.Add(rv.UnsafePointer(), layout.vpValue)) = w.lib.Get(n)
			return v
		}
	}
	return nil
}

// ErrNoFetch is an HTTP request for a process whose script exports no
// fetch function.
var ErrNoFetch = errors.New("no fetch handler")

// HTTPRequest is an HTTP request as the host hands it to a script's fetch
// export, in msgpack, or as a script's fetch asks a FetchHost to send it.
// Header values are in the script's form (HeaderText): one character per
// byte on the wire.
type HTTPRequest struct {
	Method  string      `msgpack:"method"`
	URL     string      `msgpack:"url"`
	Headers [][2]string `msgpack:"headers"`
	Body    []byte      `msgpack:"body"`
	// Sockets is how many WebSockets the process may hold; 0 refuses
	// every upgrade.
	Sockets int `msgpack:"sockets"`
}

// HTTPResponse is what a fetch turn answers, in msgpack: the Response's
// status, headers (lower-case names; values in the script's form, which
// HeaderBytes turns into bytes for the wire) and body; or, when the
// handler returned something other than a Response, Bad names what it was.
type HTTPResponse struct {
	Status  int         `msgpack:"status"`
	Headers [][2]string `msgpack:"headers"`
	Body    []byte      `msgpack:"body"`
	Bad     string      `msgpack:"bad"`
	WS      uint64      `msgpack:"ws"` // with status 101: the WebSocket accepted
}

// webState is an isolate's fetch export and web library, made on first use.
type webState struct {
	fetch   goja.Value              // the fetch export, or nil
	lib     *goja.Object            // what web.js returned, once installed
	serve   goja.Callable           // lib.serve
	request goja.Callable           // lib.request
	pending map[uint64]*goja.Object // the Request objects of running requests, by id

	ctx       *goja.Object // the ctx of web turns: ctx and the WebSocket methods
	cur       *webRequest  // the request of the running fetch turn
	wsMessage goja.Value   // the webSocketMessage export, or nil
	wsClose   goja.Value   // the webSocketClose export, or nil
	sockets   map[uint64]*goja.Object
}

// webRequest is the request a fetch turn is handling.
type webRequest struct {
	id       uint64
	obj      goja.Value
	upgrade  bool
	max      int
	accepted uint64
}

func (i *Isolate) webOf() *webState {
	if i.web == nil {
		i.web = &webState{}
	}
	return i.web
}

// bindWeb takes the fetch export, if any.
func (i *Isolate) bindWeb(exports *goja.Object) error {
	if err := i.bindSocketHandlers(exports); err != nil {
		return err
	}
	v := exports.Get("fetch")
	if v == nil || goja.IsUndefined(v) {
		return nil
	}
	if _, ok := goja.AssertFunction(v); !ok {
		return errors.New(`export "fetch" is not a function`)
	}
	i.webOf().fetch = v
	return nil
}

// bindSocketHandlers takes the webSocketMessage and webSocketClose exports.
func (i *Isolate) bindSocketHandlers(exports *goja.Object) error {
	for _, name := range []string{"webSocketMessage", "webSocketClose"} {
		v := exports.Get(name)
		if v == nil || goja.IsUndefined(v) {
			continue
		}
		if _, ok := goja.AssertFunction(v); !ok {
			return fmt.Errorf("export %q is not a function", name)
		}
		if name == "webSocketMessage" {
			i.webOf().wsMessage = v
		} else {
			i.webOf().wsClose = v
		}
	}
	return nil
}

// HasFetch reports whether the script exports fetch.
func (i *Isolate) HasFetch() bool { return i.web != nil && i.web.fetch != nil }

// installWeb runs web.js in the isolate; its public classes become
// globals through the global template (installWebTemplates).
func (i *Isolate) installWeb() error {
	w := i.webOf()
	if w.lib != nil {
		return nil
	}
	prog, err := webProgram()
	if err != nil {
		return err
	}
	if err := protect(func() error { i.builtins.ensureNeeds(needAll); return nil }); err != nil {
		return err
	}
	f, err := i.rt.RunProgram(prog)
	if err != nil {
		return err
	}
	mk, ok := goja.AssertFunction(f)
	if !ok {
		return errors.New("web library is not a function")
	}
	lib, err := mk(goja.Undefined(), i.webHelpers())
	if err != nil {
		return err
	}
	o, ok := lib.(*goja.Object)
	if !ok {
		return errors.New("web library is not an object")
	}
	w.lib = o
	w.serve, _ = goja.AssertFunction(o.Get("serve"))
	w.request, _ = goja.AssertFunction(o.Get("request"))
	if w.serve == nil || w.request == nil {
		return errors.New("web library lacks serve or request")
	}
	w.ctx = i.webContext()
	return nil
}

// webLib returns the web library, installing it if it is not yet.
func (i *Isolate) webLib() (*webState, error) {
	w := i.webOf()
	if w.lib == nil {
		if err := i.installWeb(); err != nil {
			return nil, fmt.Errorf("the web library could not be installed: %w", err)
		}
	}
	return w, nil
}

// Fetch hands an HTTP request (msgpack of HTTPRequest) to the script's
// fetch(request, ctx) as a turn; the outcome's Reply is msgpack of
// HTTPResponse. A script without fetch answers ErrNoFetch. id names the
// request for AbortFetch. done runs as for Receive.
func (i *Isolate) Fetch(req *mailbox.Envelope, id uint64, done func(Outcome)) {
	if !i.HasFetch() {
		done(Outcome{ReplyErr: fmt.Errorf("%w: %s exports no fetch", ErrNoFetch, i.cfg.Name)})
		return
	}
	var r HTTPRequest
	if err := msgpack.Unmarshal(req.Data(), &r); err != nil {
		done(Outcome{ReplyErr: fmt.Errorf("fetch: bad request: %w", err)})
		return
	}
	w := i.web
	serve := func(_ goja.Value, args ...goja.Value) (goja.Value, error) {
		return w.serve(goja.Undefined(), w.fetch, args[0], w.ctx)
	}
	upgrade := false
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], "upgrade") && strings.EqualFold(strings.TrimSpace(h[1]), "websocket") {
			upgrade = true
		}
	}
	cur := &webRequest{id: id, upgrade: upgrade, max: r.Sockets}
	i.startTurnWith(serve, func() (goja.Value, error) {
		if _, err := i.webLib(); err != nil {
			return nil, err
		}
		hs := make([]any, 0, 2*len(r.Headers))
		for _, h := range r.Headers {
			hs = append(hs, h[0], h[1])
		}
		var body goja.Value = goja.Null()
		if len(r.Body) > 0 {
			i.lazy.ensure(lazyTypedArrays)
			body = i.rt.ToValue(i.rt.NewArrayBuffer(r.Body))
		}
		v, err := w.request(goja.Undefined(), i.rt.ToValue(r.Method), i.rt.ToValue(r.URL), i.rt.NewArray(hs...), body)
		if err != nil {
			return nil, err
		}
		if w.pending == nil {
			w.pending = make(map[uint64]*goja.Object)
		}
		w.pending[id] = v.(*goja.Object)
		cur.obj = v
		w.cur = cur
		return v, nil
	}, true, func(o Outcome) {
		delete(w.pending, id)
		if w.cur == cur {
			w.cur = nil
		}
		if cur.accepted != 0 && !answersSocket(o, cur.accepted) {
			// Accepted, but the turn did not answer with it: the upgrade
			// will not happen.
			if h, ok := i.cfg.Host.(WebSocketHost); ok {
				h.DropWebSocket(cur.accepted)
			}
			delete(w.sockets, cur.accepted)
		}
		done(o)
	})
}

// AbortFetch aborts the request.signal of running request id, whose
// client has gone away. An abort listener that throws crashes the
// incarnation, as a timer callback that throws does.
func (i *Isolate) AbortFetch(id uint64) error {
	w := i.web
	if w == nil {
		return nil
	}
	req, ok := w.pending[id]
	if !ok {
		return nil
	}
	delete(w.pending, id)
	err := i.run(func() error {
		ab, ok := goja.AssertFunction(w.lib.Get("abortRequest"))
		if !ok {
			return errors.New("web library lacks abortRequest")
		}
		_, err := ab(goja.Undefined(), req)
		return err
	})
	if err != nil {
		return err
	}
	i.checkTurn()
	return nil
}

// webHelpers is the Go side of web.js.
func (i *Isolate) webHelpers() *goja.Object {
	h := i.rt.NewObject()
	var u8ctor goja.Value // Uint8Array, taken on first use
	_ = h.Set("enc", func(c goja.FunctionCall) goja.Value {
		s := c.Argument(0).String()
		if u8ctor == nil {
			i.lazy.ensure(lazyTypedArrays)
			u8ctor = i.rt.Get("Uint8Array")
		}
		ab := i.rt.NewArrayBuffer([]byte(s))
		u8, err := i.rt.New(u8ctor, i.rt.ToValue(ab))
		if err != nil {
			panic(err)
		}
		return u8
	})
	_ = h.Set("dec", func(c goja.FunctionCall) goja.Value {
		b, ok := c.Argument(0).Export().([]byte)
		if !ok {
			panic(i.rt.NewTypeError("expected a Uint8Array"))
		}
		fatal, ignoreBOM := c.Argument(1).ToBoolean(), c.Argument(2).ToBoolean()
		if !ignoreBOM && len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
			b = b[3:]
		}
		if fatal && !utf8.Valid(b) {
			panic(i.rt.NewTypeError("The encoded data was not valid utf-8"))
		}
		return i.rt.ToValue(strings.ToValidUTF8(string(b), "\uFFFD"))
	})
	_ = h.Set("url", func(c goja.FunctionCall) goja.Value {
		base := ""
		if b := c.Argument(1); !goja.IsUndefined(b) {
			base = b.String()
		}
		parts, err := parseWebURL(c.Argument(0).String(), base, !goja.IsUndefined(c.Argument(1)))
		if err != nil {
			panic(i.rt.NewTypeError(err.Error()))
		}
		vs := make([]any, len(parts))
		for k, p := range parts {
			vs[k] = p
		}
		return i.rt.NewArray(vs...)
	})
	_ = h.Set("formParse", func(c goja.FunctionCall) goja.Value {
		pairs := formParse(c.Argument(0).String())
		vs := make([]any, len(pairs))
		for k, p := range pairs {
			vs[k] = i.rt.NewArray(p[0], p[1])
		}
		return i.rt.NewArray(vs...)
	})
	_ = h.Set("formEncode", func(c goja.FunctionCall) goja.Value {
		return i.rt.ToValue(formEncode(c.Argument(0).String()))
	})
	i.socketHelpers(h)
	return h
}

// maxURLLen bounds a URL the web classes parse.
const maxURLLen = 64 << 10

var defaultPorts = map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}

// CheckURL reports whether the URL class accepts u as an absolute URL. A
// host checks what it builds from a client (the gateway's request.url,
// which holds the client's Host header) before a script sees it, since
// new URL(request.url) throwing would let any client crash the script.
func CheckURL(u string) error {
	_, err := parseWebURL(u, "", false)
	return err
}

// parseWebURL parses input against base (when hasBase) as the URL class
// does, and returns href, protocol, username, password, hostname, port,
// pathname, search and hash. It follows Go's URL parser, which is stricter
// than the WHATWG one in a few corners (an invalid percent escape is an
// error rather than kept).
func parseWebURL(input, base string, hasBase bool) ([]string, error) {
	if len(input) > maxURLLen || len(base) > maxURLLen {
		return nil, fmt.Errorf("Invalid URL: longer than %d bytes", maxURLLen)
	}
	clean := func(s string) string {
		s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
		return strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	}
	input = clean(input)
	var u *url.URL
	var err error
	if hasBase {
		b, err := url.Parse(clean(base))
		if err != nil || b.Scheme == "" {
			return nil, fmt.Errorf("Invalid base URL: %q", truncate(base, 128))
		}
		if u, err = b.Parse(input); err != nil {
			return nil, fmt.Errorf("Invalid URL: %q", truncate(input, 128))
		}
	} else if u, err = url.Parse(input); err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("Invalid URL: %q", truncate(input, 128))
	}
	scheme := strings.ToLower(u.Scheme)
	_, special := defaultPorts[scheme]
	special = special || scheme == "file"
	host, port := u.Host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host, port = host[:i], host[i+1:]
	}
	if special {
		host = strings.ToLower(host)
		if scheme != "file" && host == "" {
			return nil, fmt.Errorf("Invalid URL: %q has no host", truncate(input, 128))
		}
	}
	if port == defaultPorts[scheme] {
		port = ""
	}
	path := u.EscapedPath()
	if u.Opaque != "" {
		path = u.Opaque
	}
	if special && path == "" {
		path = "/"
	}
	search := ""
	if u.RawQuery != "" || u.ForceQuery {
		search = "?" + escapeNonASCII(u.RawQuery)
	}
	hash := ""
	if u.Fragment != "" || strings.HasSuffix(input, "#") {
		hash = "#" + u.EscapedFragment()
	}
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	return []string{"", scheme + ":", user, pass, host, port, path, search, hash}, nil
}

// escapeNonASCII percent-encodes the bytes of s above 0x7F, as the URL
// standard does in a query (Go's parser keeps them raw there): a URL's
// href is then ASCII in its query too, and fit for a header such as
// Location.
func escapeNonASCII(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// formParse parses application/x-www-form-urlencoded text into pairs.
func formParse(q string) [][2]string {
	var out [][2]string
	for _, part := range strings.Split(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out = append(out, [2]string{formUnescape(k), formUnescape(v)})
	}
	return out
}

// formUnescape decodes '+' and percent escapes, keeping a malformed
// escape as it is, and replaces invalid UTF-8.
func formUnescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for k := 0; k < len(s); k++ {
		switch c := s[k]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && k+2 < len(s)+0 && isHex(s[k+1]) && isHex(s[k+2]):
			b = append(b, unhex(s[k+1])<<4|unhex(s[k+2]))
			k += 2
		default:
			b = append(b, c)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// formEncode escapes s for application/x-www-form-urlencoded.
func formEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
