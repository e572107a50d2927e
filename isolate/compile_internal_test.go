package isolate

import (
	"strings"
	"testing"
)

func TestExportsObject(t *testing.T) {
	for _, tc := range []struct {
		name, code, want, err string
	}{
		{"plain", "(function () {\nfunction receive() {}\nexport {\n  receive\n};\n", `return {__proto__: null, ["receive"]: receive};`, ""},
		{"renamed", "(function () {\nvar c_default = 1;\nfunction r2() {}\nexport {\n  c_default as default,\n  r2 as receive\n};\n", `return {__proto__: null, ["default"]: c_default, ["receive"]: r2};`, ""},
		{"proto", "(function () {\nvar p = {};\nexport {\n  p as __proto__\n};\n", `return {__proto__: null, ["__proto__"]: p};`, ""},
		{"none", "(function () {\nvar x = 1;\n", `return {__proto__: null};`, ""},
		{"unicode", "(function () {\nfunction grüße() {}\nexport {\n  grüße as receive\n};\n", `return {__proto__: null, ["receive"]: grüße};`, ""},
		{"clause in a template, not at the end", "(function () {\nvar s = `\nexport { a };\n`;\n", `return {__proto__: null};`, ""},
		{"string name", "(function () {\nvar a;\nexport {\n  a as \"b c\"\n};\n", "", "unexpected export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := exportsObject(tc.code)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(got, tc.want+"\n})") || strings.Contains(got, "\nexport {\n") {
				t.Fatalf("got\n%s\nwant it to end with %s", got, tc.want)
			}
		})
	}
}
