package manifest_test

import (
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/manifest"
)

const httpTree = `
root:
  strategy: one_for_one
  children:
    - name: api
      script: api.js
    - name: rooms
      strategy: one_for_one
      template: {script: room.js}
    - name: db
      go: db
`

func TestHTTPSection(t *testing.T) {
	m, err := manifest.Parse([]byte(httpTree + `
http:
  listen: 127.0.0.1:0
  read_header_timeout: 2s
  max_body: 64KiB
  routes:
    - {pattern: "GET /api/", to: api, timeout: 1s, max_inflight: 10}
    - {pattern: "/rooms/{room}/", to: rooms, key: room}
`))
	if err != nil {
		t.Fatal(err)
	}
	h := m.HTTP
	if h == nil || h.Listen != "127.0.0.1:0" || h.MaxBody.N != 64<<10 || len(h.Routes) != 2 {
		t.Fatalf("decoded %+v", h)
	}
	if r := h.Routes[0]; r.To != "api" || r.MaxInflight != 10 || r.Timeout.D.Seconds() != 1 {
		t.Fatalf("route 0: %+v", r)
	}
	if r := h.Routes[1]; r.Key != "room" || r.To != "rooms" {
		t.Fatalf("route 1: %+v", r)
	}
}

func TestHTTPSectionErrors(t *testing.T) {
	cases := []struct{ http, want string }{
		{"http: {routes: [{pattern: /, to: api}]}", "needs listen"},
		{"http: {listen: nowhere, routes: [{pattern: /, to: api}]}", "listen"},
		{"http: {listen: ':0'}", "at least one route"},
		{"http: {listen: ':0', routes: [{pattern: /, to: nobody}]}", `no process named "nobody"`},
		{"http: {listen: ':0', routes: [{pattern: 'BAD PATTERN HERE', to: api}]}", "BAD PATTERN"},
		{"http: {listen: ':0', routes: [{pattern: '/r/{id}', to: rooms, key: room}]}", `key "room" is not a wildcard`},
		{"http: {listen: ':0', routes: [{pattern: '/r/{id}', to: api, key: id}]}", "not a supervisor with a template"},
		{"http: {listen: ':0', routes: [{pattern: '/r', to: rooms}]}", "is a supervisor"},
		{"http: {listen: ':0', routes: [{pattern: '/r', to: db}]}", "is a Go actor"},
		{"http: {listen: ':0', routes: [{pattern: '/r', to: api}, {pattern: '/r', to: api}]}", "duplicate"},
		{"http: {listen: ':0', routes: [{pattern: '/r', to: api, max_inflight: -1}]}", "max_inflight"},
		{"http: {listen: ':0', routes: [{pattern: '/r', to: api, colour: red}]}", `unknown field "colour"`},
		{"http: {listen: ':0', bogus: 1, routes: [{pattern: '/r', to: api}]}", `unknown field "bogus"`},
	}
	for _, c := range cases {
		_, err := manifest.Parse([]byte(httpTree + c.http + "\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.http, err, c.want)
		}
	}
	_, err := manifest.Parse([]byte(strings.Replace(httpTree, "name: api", "name: http", 1) +
		"http: {listen: ':0', routes: [{pattern: '/r', to: http}]}\n"))
	if err == nil || !strings.Contains(err.Error(), `named "http"`) {
		t.Errorf("a root child named http: %v", err)
	}
}
