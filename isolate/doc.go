// Package isolate runs one untrusted JS/TS module in a private goja runtime
// under CPU, memory, stack and message limits, and is the only Cloister
// package that imports goja. It compiles scripts (TypeScript included) once
// into a shared cache, gives each incarnation a fresh runtime with the host
// API (ctx.self, ctx.env, capability handles, timers, console), and copies
// messages between JS values and MessagePack (see codec.go for the data
// model; the extension types are package codec's).
//
// A node drives isolates; a program uses this package directly to compile
// the scripts of a tree built in code:
//
//	s, err := isolate.Compile("counter.js", src) // or isolate.NewCompiler().Load(path)
//	if err != nil {
//		return err // a *CompileError naming the file, line and column
//	}
//	spec := actor.ChildSpec{Name: "counter", Script: s, Limits: isolate.Limits{CPU: 50 * time.Millisecond}}
//
// Errors: a JS throw becomes a *JSError with the script's stack; the CPU and
// memory limits end a turn with ErrCPULimit or ErrMemoryLimit; a value that
// cannot be sent is a *CloneError that says where in the value and why.
package isolate
