package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/gateway"
	"github.com/cloister-rt/cloister/supervisor"
)

// HTTPOptions sizes the HTTP benchmark.
type HTTPOptions struct {
	Requests    int // requests per measurement
	Connections int // concurrent clients, each on its own kept-alive connection
	Runs        int // repetitions; medians are reported
}

// HTTPDefaults are the sizes of `cloister bench --http`.
var HTTPDefaults = HTTPOptions{Requests: 20_000, Connections: 16, Runs: 3}

// HTTPResult compares requests through a script's fetch handler, behind
// the gateway, with a plain Go net/http handler served and loaded the same
// way in the same run.
type HTTPResult struct {
	RPS               float64 `json:"http_rps"`             // hello world through fetch
	BaselineRPS       float64 `json:"baseline_http_rps"`    // hello world, plain Go handler
	P50MS             float64 `json:"http_p50_ms"`          // at half of http_rps
	P99MS             float64 `json:"http_p99_ms"`          // at half of http_rps
	BaselineP50MS     float64 `json:"baseline_http_p50_ms"` // at half of baseline_http_rps
	BaselineP99MS     float64 `json:"baseline_http_p99_ms"` // at half of baseline_http_rps
	JSONRPS           float64 `json:"http_json_rps"`        // JSON echo through fetch
	BaselineJSONRPS   float64 `json:"baseline_http_json_rps"`
	RPSRatio          float64 `json:"http_rps_ratio"`           // http_rps / baseline_http_rps
	WSMsgsPerSec      float64 `json:"ws_msgs_per_sec"`          // WebSocket echoes through an actor
	BaselineWSMsgs    float64 `json:"baseline_ws_msgs_per_sec"` // the same, plain Go echo server
	WSMessages        int     `json:"ws_messages"`
	EgressRPS         float64 `json:"egress_rps"`          // fetch round trips/s from a script through a grant
	BaselineEgressRPS float64 `json:"baseline_egress_rps"` // the same with a plain Go client
	EgressRequests    int     `json:"egress_requests"`
	Requests          int     `json:"http_requests"`
	Connections       int     `json:"http_connections"`
	Runs              int     `json:"runs"`
	GOMAXPROCS        int     `json:"gomaxprocs"`
	LoadBefore        float64 `json:"load_before"`
	LoadAfter         float64 `json:"load_after"`
}

const helloJS = `
export function fetch(request) {
	if (request.method === "POST") return request.json().then(v => Response.json(v));
	return new Response("hello, world\n");
}`

var echoBody = `{"user":"ada","items":[1,2,3],"note":"a small JSON document"}`

// HTTP runs the HTTP benchmark: the maximum rate with Connections clients
// and, at half that rate, the latency percentiles, for a script behind the
// gateway and a plain Go handler.
func HTTP(ctx context.Context, o HTTPOptions) (HTTPResult, error) {
	if o.Requests <= 0 {
		o.Requests = HTTPDefaults.Requests
	}
	if o.Connections <= 0 {
		o.Connections = HTTPDefaults.Connections
	}
	if o.Runs <= 0 {
		o.Runs = HTTPDefaults.Runs
	}
	r := HTTPResult{Requests: o.Requests, Connections: o.Connections, Runs: o.Runs,
		GOMAXPROCS: runtime.GOMAXPROCS(0), LoadBefore: loadAvg()}

	jsURL, stopJS, err := serveJS()
	if err != nil {
		return r, err
	}
	defer stopJS()
	goURL, stopGo, err := serveGo()
	if err != nil {
		return r, err
	}
	defer stopGo()

	measure := func(url, method string, rate float64) (rps, p50, p99 float64, err error) {
		var rpss, p50s, p99s []float64
		for range o.Runs {
			if err := ctx.Err(); err != nil {
				return 0, 0, 0, err
			}
			x, lat, err := load(url, method, o.Requests, o.Connections, rate)
			if err != nil {
				return 0, 0, 0, err
			}
			rpss = append(rpss, x)
			p50s = append(p50s, percentile(lat, 0.50))
			p99s = append(p99s, percentile(lat, 0.99))
		}
		return medianOf(rpss), medianOf(p50s), medianOf(p99s), nil
	}
	// Interleave Cloister and the baseline so drift hits both alike.
	if r.RPS, _, _, err = measure(jsURL, "GET", 0); err != nil {
		return r, fmt.Errorf("fetch: %w", err)
	}
	if r.BaselineRPS, _, _, err = measure(goURL, "GET", 0); err != nil {
		return r, fmt.Errorf("baseline: %w", err)
	}
	if _, r.P50MS, r.P99MS, err = measure(jsURL, "GET", r.RPS/2); err != nil {
		return r, fmt.Errorf("fetch at half rate: %w", err)
	}
	if _, r.BaselineP50MS, r.BaselineP99MS, err = measure(goURL, "GET", r.BaselineRPS/2); err != nil {
		return r, fmt.Errorf("baseline at half rate: %w", err)
	}
	if r.JSONRPS, _, _, err = measure(jsURL, "POST", 0); err != nil {
		return r, fmt.Errorf("fetch JSON: %w", err)
	}
	if r.BaselineJSONRPS, _, _, err = measure(goURL, "POST", 0); err != nil {
		return r, fmt.Errorf("baseline JSON: %w", err)
	}
	if r.BaselineRPS > 0 {
		r.RPSRatio = r.RPS / r.BaselineRPS
	}
	if err := wsBench(ctx, o, &r); err != nil {
		return r, err
	}
	if err := egressBench(ctx, o, &r); err != nil {
		return r, err
	}
	r.LoadAfter = loadAvg()
	return r, nil
}

func serveJS() (string, func(), error) {
	gw, err := gateway.New(gateway.Config{Addr: "127.0.0.1:0", Routes: []gateway.Route{{Pattern: "/", Grant: "hello"}}})
	if err != nil {
		return "", nil, err
	}
	n, err := actor.NewNode(actor.Options{Limits: turnLimit, Logger: quiet,
		Receivers: map[string]func() actor.Receiver{gateway.ReceiverName: gw.Receiver}})
	if err != nil {
		return "", nil, err
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Second), Children: []actor.ChildSpec{
		{Name: "hello", Script: compile("hello.js", helloJS)},
		{Name: "http", Go: gateway.ReceiverName, Grants: []actor.GrantSpec{{Name: "hello", To: "hello", Rights: capability.Send}}},
	}}
	if err := n.Start(root); err != nil {
		return "", nil, err
	}
	return "http://" + gw.Addr().String() + "/", func() { _ = n.Shutdown(context.Background()); _ = n.Wait() }, nil
}

func serveGo() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		ReadHeaderTimeout: gateway.DefaultReadHeaderTimeout, ReadTimeout: gateway.DefaultReadTimeout,
		WriteTimeout: gateway.DefaultWriteTimeout, MaxHeaderBytes: gateway.DefaultMaxHeaderBytes,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "POST" {
				var v any
				if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, gateway.DefaultMaxBody)).Decode(&v); err != nil {
					http.Error(w, "bad JSON", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(v)
				return
			}
			w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
			_, _ = io.WriteString(w, "hello, world\n")
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/", func() { _ = srv.Close() }, nil
}

// load sends total requests from conns clients and returns the requests
// per second and each request's latency in milliseconds. With rate > 0 the
// requests start on a fixed schedule of rate per second (each latency
// counted from its scheduled start, so a stall is not hidden); otherwise
// each client sends its next request as soon as the previous one ends.
func load(url, method string, total, conns int, rate float64) (float64, []float64, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	lat := make([]float64, total)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) || failed.Load() != nil {
					return
				}
				t0 := time.Now()
				if rate > 0 {
					t0 = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					if d := time.Until(t0); d > 0 {
						time.Sleep(d)
					}
				}
				var body io.Reader
				if method == "POST" {
					body = strings.NewReader(echoBody)
				}
				req, _ := http.NewRequest(method, url, body)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				res, err := client.Do(req)
				if err != nil {
					failed.Store(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Store(fmt.Errorf("status %d", res.StatusCode))
					return
				}
				lat[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		return 0, nil, err
	}
	if elapsed <= 0 {
		return 0, nil, errors.New("no time elapsed")
	}
	return float64(total) / elapsed.Seconds(), lat, nil
}

func percentile(vals []float64, p float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

// wsBench measures WebSocket echoes through an actor and through a plain
// Go echo server, Connections clients each sending Requests/Connections
// messages, medians of Runs.
func wsBench(ctx context.Context, o HTTPOptions, r *HTTPResult) error {
	jsURL, stopJS, err := serveWSJS()
	if err != nil {
		return err
	}
	defer stopJS()
	goURL, stopGo, err := serveWSGo()
	if err != nil {
		return err
	}
	defer stopGo()
	per := max(1, o.Requests/o.Connections)
	r.WSMessages = per * o.Connections
	var js, gov []float64
	for range o.Runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		x, err := wsLoad(jsURL, o.Connections, per)
		if err != nil {
			return fmt.Errorf("websocket through an actor: %w", err)
		}
		js = append(js, x)
		if x, err = wsLoad(goURL, o.Connections, per); err != nil {
			return fmt.Errorf("websocket baseline: %w", err)
		}
		gov = append(gov, x)
	}
	r.WSMsgsPerSec, r.BaselineWSMsgs = medianOf(js), medianOf(gov)
	return nil
}
