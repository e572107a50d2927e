// Package supervisor gives Cloister's process trees OTP's supervision
// semantics.
//
// A manifest declares the tree; package manifest reads and validates it,
// Spec compiles its scripts and returns the tree as an actor.ChildSpec:
//
//	m, err := manifest.Load("app.yaml")
//	if err != nil { ... } // names the file, line and field
//	spec, err := m.Spec(isolate.NewCompiler())
//	node, _ := actor.NewNode(actor.Options{Limits: m.Limits()})
//	err = node.Start(spec)
//
// Strategies live one per file: one_for_one.go, one_for_all.go, rest_for_one.go.
package supervisor
