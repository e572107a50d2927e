package isolate

import (
	"strings"
	"testing"
)

func TestExportsObject(t *testing.T) {
	for _, tc := range []struct {
		name, code, want, err string
	}{
		{"plain", "(function () {\nfunction receive() {}\nexport {\n  receive\n};\n", `return {"receive": receive};`, ""},
		{"renamed", "(function () {\nvar c_default = 1;\nfunction r2() {}\nexport {\n  c_default as default,\n  r2 as receive\n};\n", `return {"default": c_default, "receive": r2};`, ""},
		{"none", "(function () {\nvar x = 1;\n", `return {};`, ""},
		{"unicode", "(function () {\nfunction grüße() {}\nexport {\n  grüße as receive\n};\n", `return {"receive": grüße};`, ""},
		{"code after", "(function () {\nvar s = `\nexport { a };\n`;\n", "", "unexpected code after"},
		{"string name", "(function () {\nvar a;\nexport {\n  a as \"b c\"\n};\n", "", "unexpected export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := exportsObject(tc.code + "//# sourceMappingURL=out.js.map\n")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, tc.want+"\n})\n//# sourceMappingURL=out.js.map") || strings.Contains(got, "export {") {
				t.Fatalf("got\n%s\nwant it to end with %s", got, tc.want)
			}
		})
	}
}
