// Package templates holds the files that `cloister init` writes: a
// manifest, two TypeScript actors, cloister.d.ts (the types of the JS
// API), a tsconfig.json for editors and a README.
//
//	err := fs.WalkDir(templates.Scaffold(), ".", ...)
package templates

import (
	"embed"
	"io/fs"
)

//go:embed scaffold
var scaffold embed.FS

// Scaffold returns the files of a new application, at its root.
func Scaffold() fs.FS {
	sub, err := fs.Sub(scaffold, "scaffold")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Types returns cloister.d.ts, the TypeScript declarations of the JS API.
func Types() []byte {
	b, err := scaffold.ReadFile("scaffold/cloister.d.ts")
	if err != nil {
		panic(err) // the file is embedded above
	}
	return b
}
