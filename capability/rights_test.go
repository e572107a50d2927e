package capability_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/capability"
)

func TestRights_ParseRight(t *testing.T) {
	tests := []struct {
		name string
		want capability.Rights
		ok   bool
	}{
		{"send", capability.Send, true},
		{"monitor", capability.Monitor, true},
		{"link", capability.Link, true},
		{"exit", capability.Exit, true},
		{"kill", capability.Kill, true},
		{"inspect", capability.Inspect, true},
		{"spawn", capability.Spawn, true},
		{"", 0, false},
		{"Send", 0, false},
		{"SEND", 0, false},
		{" send", 0, false},
		{"send,kill", 0, false},
		{"all", 0, false},
		{"fly", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := capability.ParseRight(tt.name)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseRight(%q): %v", tt.name, err)
				}
				if got != tt.want {
					t.Errorf("ParseRight(%q) = %v, want %v", tt.name, got, tt.want)
				}
				return
			}
			if !errors.Is(err, capability.ErrUnknownRight) {
				t.Fatalf("ParseRight(%q) = %v, %v; want ErrUnknownRight", tt.name, got, err)
			}
			if !strings.Contains(err.Error(), `"`+tt.name+`"`) {
				t.Errorf("error %q does not quote the name %q", err, tt.name)
			}
			if got != 0 {
				t.Errorf("ParseRight(%q) returned rights %v with its error", tt.name, got)
			}
		})
	}
}

func TestRights_ParseRights(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  capability.Rights
		err   string // the name the error quotes; "" for success
	}{
		{"none", nil, 0, ""},
		{"empty list", []string{}, 0, ""},
		{"one", []string{"kill"}, capability.Kill, ""},
		{"several", []string{"send", "monitor"}, capability.Send | capability.Monitor, ""},
		{"repeated", []string{"send", "send"}, capability.Send, ""},
		{"order does not matter", []string{"spawn", "send"}, capability.Send | capability.Spawn, ""},
		{"all", []string{"send", "monitor", "link", "exit", "kill", "inspect", "spawn"}, capability.All, ""},
		{"one unknown", []string{"send", "fly"}, 0, "fly"},
		{"unknown first", []string{"fly", "send"}, 0, "fly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := capability.ParseRights(tt.names)
			if tt.err != "" {
				if !errors.Is(err, capability.ErrUnknownRight) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRights(%q) = %v, %v; want ErrUnknownRight naming %q", tt.names, got, err, tt.err)
				}
				if got != 0 {
					t.Errorf("rights %v returned with the error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRights(%q): %v", tt.names, err)
			}
			if got != tt.want {
				t.Errorf("ParseRights(%q) = %v, want %v", tt.names, got, tt.want)
			}
		})
	}
}

func TestRights_NamesAndString(t *testing.T) {
	tests := []struct {
		name   string
		rights capability.Rights
		want   []string
	}{
		{"none", 0, []string{}},
		{"one", capability.Inspect, []string{"inspect"}},
		{"canonical order", capability.Spawn | capability.Kill | capability.Send, []string{"send", "kill", "spawn"}},
		{"all", capability.All, []string{"send", "monitor", "link", "exit", "kill", "inspect", "spawn"}},
		{"bits beyond All are not rights", capability.Send | 1<<12, []string{"send"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rights.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("Names() = %q, want %q", got, tt.want)
			}
			if got, want := tt.rights.String(), strings.Join(tt.want, ","); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
		})
	}
}

func TestRights_RoundTrip(t *testing.T) {
	for r := capability.Rights(0); r <= capability.All; r++ {
		got, err := capability.ParseRights(r.Names())
		if err != nil {
			t.Fatalf("ParseRights(%q): %v", r.Names(), err)
		}
		if got != r {
			t.Errorf("ParseRights(%v.Names()) = %v", r, got)
		}
		if got, err := capability.ParseRights(strings.Split(r.String(), ",")); r != 0 && (err != nil || got != r) {
			t.Errorf("ParseRights(split %q) = %v, %v", r.String(), got, err)
		}
	}
}

func TestRights_Has(t *testing.T) {
	tests := []struct {
		have, need capability.Rights
		want       bool
	}{
		{capability.Send, capability.Send, true},
		{capability.Send | capability.Kill, capability.Kill, true},
		{capability.Send | capability.Kill, capability.Send | capability.Kill, true},
		{capability.Send, capability.Send | capability.Kill, false},
		{capability.Send, capability.Kill, false},
		{0, 0, true},
		{capability.All, capability.All, true},
		{0, capability.Send, false},
	}
	for _, tt := range tests {
		t.Run(tt.have.String()+"/"+tt.need.String(), func(t *testing.T) {
			if got := tt.have.Has(tt.need); got != tt.want {
				t.Errorf("%v.Has(%v) = %v, want %v", tt.have, tt.need, got, tt.want)
			}
		})
	}
}
