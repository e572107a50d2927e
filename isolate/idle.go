package isolate

import "github.com/dop251/goja"

// What New leaves behind in an idle isolate: only what later turns need.

// clearResult is a program whose value is undefined, run to drop the
// module function from the runtime's last result.
var clearResult = goja.MustCompile("", "void 0", false) // reads no global

// exportValues returns the values of the module's exports, named by
// names (Script.exports), which the memory walk starts from. The exports
// object itself, which no script can reach, is not kept: a slice of its
// values is a tenth of its size. Its properties are plain data properties
// (exportsObject): reading them runs no script code. A name the object
// has not (a script exported a name twice?) is skipped.
func exportValues(exports *goja.Object, names []string) []goja.Value {
	vals := make([]goja.Value, 0, len(names))
	for _, name := range names {
		if v := exports.Get(name); v != nil {
			vals = append(vals, v)
		}
	}
	return vals
}
