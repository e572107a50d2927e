// Package manifest reads a Cloister application manifest (app.yaml): the
// process tree, its grants and limits, and the node-wide settings. It
// treats the file as untrusted input: unknown fields, out-of-range limits,
// alias bombs and grants to missing processes are errors that name the
// file, line and field.
//
// Open is the one call that turns a manifest into what a node needs:
//
//	app, err := manifest.Open("app.yaml") // reads, validates, compiles the scripts
//	if err != nil {
//		return err // "app.yaml: line 6: counter: unknown field "scirpt" ..."
//	}
//	opts := app.Options() // default limits, mailbox limits, node-wide bounds
//	opts.Logger = log
//	node, err := actor.NewNode(opts)
//	err = node.Start(app.Root)
//	// app.Debug is the manifest's debug endpoint address, if any.
//
// A manifest with a cluster: section spreads the tree over several nodes:
// every node opens the same manifest and takes its own view of it,
//
//	view, err := app.ForNode("b") // its data directory, storage, gateway
//
// and starts the whole tree, of which it runs only the children of the
// root placed on it (node: b). See docs/cluster.md.
//
// Load and Parse give the decoded Manifest without compiling anything, for
// tools that only check it.
package manifest
