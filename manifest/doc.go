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
// Load and Parse give the decoded Manifest without compiling anything, for
// tools that only check it.
package manifest
