package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/egress"
	"github.com/cloister-rt/cloister/supervisor"
)

const egressJS = `
export async function receive(msg, ctx) {
	for (let i = 0; i < msg.n; i++) {
		const res = await ctx.env.api.fetch(msg.url);
		await res.text();
	}
	return msg.n;
}`

// egressBench measures sequential fetch round trips from a script through
// an HTTP grant to a local server, and a plain Go client's to the same.
func egressBench(ctx context.Context, o HTTPOptions, r *HTTPResult) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/api/x"
	g, err := egress.New("api", egress.Policy{Allow: []string{"http://" + ln.Addr().String() + "/api/"},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		return err
	}
	n, err := actor.NewNode(actor.Options{Limits: turnLimit, Logger: quiet})
	if err != nil {
		return err
	}
	defer func() { _ = n.Shutdown(context.Background()); _ = n.Wait() }()
	err = n.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Second), Children: []actor.ChildSpec{
		{Name: "client", Script: compile("egress.js", egressJS), Grants: []actor.GrantSpec{{Name: "api", Rights: capability.Send, Target: g}}},
	}})
	if err != nil {
		return err
	}
	to, err := n.Capability("client", capability.Send)
	if err != nil {
		return err
	}
	count := max(1, o.Requests/4)
	r.EgressRequests = count
	client := &http.Client{Timeout: 10 * time.Second}
	var js, gov []float64
	for range o.Runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		err := n.Call(cctx, to, map[string]any{"n": count, "url": url}, nil)
		cancel()
		if err != nil {
			return fmt.Errorf("egress through a grant: %w", err)
		}
		js = append(js, float64(count)/time.Since(start).Seconds())
		start = time.Now()
		for range count {
			res, err := client.Get(url)
			if err != nil {
				return fmt.Errorf("egress baseline: %w", err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		gov = append(gov, float64(count)/time.Since(start).Seconds())
	}
	r.EgressRPS, r.BaselineEgressRPS = medianOf(js), medianOf(gov)
	return nil
}
