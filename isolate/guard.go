package isolate

import "fmt"

// Source shape limits. goja's and esbuild's parsers recurse once per nesting
// level with several KiB of Go stack each; a Go stack overflow is fatal to the
// whole node and no recover catches it. Measured here: 100,000 levels of
// brackets, unary operators or assignments parse, 200,000 unary operators or
// 100,000 arrow functions overflow esbuild's 1 GB stack. Every source that
// reaches a parser passes checkSource first, with limits far below that.
const (
	// maxScriptBytes bounds a script file.
	maxScriptBytes = 4 << 20
	// maxEvalBytes bounds a string passed to eval or a Function constructor.
	// At most one nesting level per byte keeps any shape far from the stack limit.
	maxEvalBytes = 64 << 10
	// maxNesting bounds bracket depth plus the longest chain of
	// right-recursive operators in one expression.
	maxNesting = 1000
)

// checkSource refuses sources that could drive a parser's recursion deep
// enough to overflow the Go stack. It is a conservative lexical estimate:
// brackets count one level each; in each bracket frame, operators that the
// parsers handle by recursion (prefix operators, assignments, conditionals,
// arrows and the keywords typeof, void, delete, await, new, yield) count one
// level each until the expression ends at ';', ',' or a line break after an
// operand. Strings, template text and comments are skipped. Regular
// expression literals are not recognised, so a bracket inside one counts.
func checkSource(src string, maxBytes int) error {
	if len(src) > maxBytes {
		return fmt.Errorf("source is %d bytes, over the limit of %d", len(src), maxBytes)
	}
	type frame struct{ chain int }
	stack := make([]frame, 1, 16)
	afterOperand := false
	line := 1
	deep := func() error {
		return fmt.Errorf("line %d: source nests deeper than %d levels", line, maxNesting)
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		top := &stack[len(stack)-1]
		switch {
		case c == '\n':
			line++
			if afterOperand {
				top.chain = 0
			}
		case c == ' ' || c == '\t' || c == '\r':
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			i += 2
			for i+1 < len(src) && !(src[i] == '*' && src[i+1] == '/') {
				if src[i] == '\n' {
					line++
				}
				i++
			}
			i++
		case c == '"' || c == '\'':
			for i++; i < len(src) && src[i] != c; i++ {
				if src[i] == '\\' {
					i++
				} else if src[i] == '\n' {
					line++
				}
			}
			afterOperand = true
		case c == '`':
			// Template text; "${" opens a frame that the matching "}" closes,
			// and the scan resumes in template text only approximately: the
			// estimate stays conservative because every "${" counts a level.
			for i++; i < len(src) && src[i] != '`'; i++ {
				if src[i] == '\\' {
					i++
				} else if src[i] == '\n' {
					line++
				} else if src[i] == '$' && i+1 < len(src) && src[i+1] == '{' {
					stack = append(stack, frame{})
					if len(stack) > maxNesting {
						return deep()
					}
				}
			}
			afterOperand = true
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, frame{})
			if len(stack)+top.chain > maxNesting {
				return deep()
			}
			afterOperand = false
		case c == ')' || c == ']' || c == '}':
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			afterOperand = true
		case c == ';' || c == ',':
			top.chain = 0
			afterOperand = false
		case c == '!' || c == '~' || c == '-' || c == '+' || c == '=' || c == '?':
			top.chain++
			if len(stack)+top.chain > maxNesting {
				return deep()
			}
			afterOperand = false
		case isIdentByte(c):
			j := i
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			switch src[i:j] {
			case "typeof", "void", "delete", "await", "new", "yield", "async", "return", "throw":
				top.chain++
				if len(stack)+top.chain > maxNesting {
					return deep()
				}
				afterOperand = false
			default:
				afterOperand = true
			}
			i = j - 1
		default:
			afterOperand = false
		}
	}
	return nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
