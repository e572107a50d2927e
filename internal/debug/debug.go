// Package debug serves a node's operator endpoint: the process tree as JSON.
package debug

import (
	"encoding/json"
	"net/http"
	"time"

	"cloister/actor"
)

// Process is one entry of GET /debug/tree.
type Process struct {
	ID           uint64     `json:"id"`
	Name         string     `json:"name"`
	Path         string     `json:"path"`
	Kind         string     `json:"kind"`
	Status       string     `json:"status"`
	Incarnation  uint64     `json:"incarnation"`
	Restarts     uint64     `json:"restarts"`
	MailboxDepth int64      `json:"mailbox_depth"`
	Script       string     `json:"script,omitempty"`
	Children     []*Process `json:"children,omitempty"`
}

// Tree snapshots the node's process tree.
func Tree(p *actor.Process) *Process {
	out := &Process{
		ID: p.ID(), Name: p.Name(), Path: p.Path(), Kind: p.Kind().String(), Status: p.Status().String(),
		Incarnation: p.Incarnation(), Restarts: p.Restarts(), MailboxDepth: p.MailboxDepth(), Script: p.Script(),
	}
	for _, ch := range p.Children() {
		out.Children = append(out.Children, Tree(ch))
	}
	return out
}

// NewServer returns an http.Server for node with timeouts and size limits
// suitable for an operator endpoint.
func NewServer(node *actor.Node) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/tree", func(w http.ResponseWriter, r *http.Request) {
		root := node.Root()
		if root == nil {
			http.Error(w, "node not started", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Tree(root))
	})
	return &http.Server{
		Handler:           http.MaxBytesHandler(mux, 1<<16),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    1 << 16,
	}
}
