// Package supervisor gives Cloister's process trees OTP's supervision
// semantics.
//
// A manifest declares the tree; package manifest reads, validates and
// compiles it into the root spec and the node options:
//
//	app, err := manifest.Open("app.yaml")
//	if err != nil { ... } // names the file, line and field
//	node, err := actor.NewNode(app.Options())
//	err = node.Start(app.Root)
//
// Strategies live one per file: one_for_one.go, one_for_all.go, rest_for_one.go.
package supervisor
