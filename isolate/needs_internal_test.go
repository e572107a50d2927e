package isolate

import "testing"

// TestNeeds_Scan: the compiled script says which constructors it can reach
// without a template.
func TestNeeds_Scan(t *testing.T) {
	for src, want := range map[string]needs{
		`export function receive(m) { return m.a * 2 / 3; }`:                         0,
		`export function receive(m) { return /a+/.test(m); }`:                        needRegExp,
		`export async function receive(m) { return 1; }`:                             needAsync,
		`export function receive(m) { const f = async () => 1; return f; }`:          needAsync,
		`export function receive(m) { return { async m() {} }; }`:                    needAsync,
		`class A { async m() {} }; export function receive() { return new A(); }`:    needAsync,
		`export function receive(m) { function* g() { yield 1; } return [...g()]; }`: needGenerator,
		`class A { *g() {} }; export function receive() { return new A(); }`:         needGenerator,
		`export function receive() { return arguments.length; }`:                     needArguments,
		`export function receive(m) { return eval(m); }`:                             needArguments,
		`export function receive(m) { return [m.arguments, "/x/", "async"]; }`:       0,
	} {
		s, err := Compile("t.js", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if s.needs != want {
			t.Errorf("%s: needs %b, want %b", src, s.needs, want)
		}
	}
}
