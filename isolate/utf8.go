package isolate

import "unicode/utf8"

// checkUTF8 refuses a script that is not valid UTF-8, naming the line and
// column of the first bad byte. esbuild loops for ever quoting a source that
// ends inside a multi-byte sequence (its decoder reports a width of 0 there),
// so no invalid source may reach it; a script is UTF-8 text by definition.
func checkUTF8(name string, src []byte) error {
	if utf8.Valid(src) {
		return nil
	}
	line, col := 1, 1
	for i := 0; i < len(src); {
		r, w := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && w <= 1 {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += w
	}
	return &CompileError{File: name, Line: line, Column: col, Msg: "the source is not valid UTF-8"}
}
