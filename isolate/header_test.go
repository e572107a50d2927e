package isolate_test

import (
	"testing"

	"github.com/cloister-rt/cloister/isolate"
)

func TestHeaderTextBytes(t *testing.T) {
	for _, c := range []struct{ wire, text string }{
		{"", ""},
		{"plain ascii", "plain ascii"},
		{"\xe9", "é"},
		{"\xc3\xa9", "Ã©"},
		{"caf\xe9 \x80\xff", "café \u0080ÿ"},
	} {
		if got := isolate.HeaderText(c.wire); got != c.text {
			t.Errorf("HeaderText(%q) = %q, want %q", c.wire, got, c.text)
		}
		if got, ok := isolate.HeaderBytes(c.text); !ok || got != c.wire {
			t.Errorf("HeaderBytes(%q) = %q, %v; want %q", c.text, got, ok, c.wire)
		}
	}
	for _, s := range []string{"5 €", "\u0100", "a\xffb" /* not UTF-8 */, "\U0001F600"} {
		if got, ok := isolate.HeaderBytes(s); ok {
			t.Errorf("HeaderBytes(%q) = %q, true; want refused", s, got)
		}
	}
	// An ASCII value, by far the most common, is not copied either way.
	v := "text/html; charset=utf-8"
	if n := testing.AllocsPerRun(100, func() { _, _ = isolate.HeaderBytes(isolate.HeaderText(v)) }); n != 0 {
		t.Errorf("an ASCII value: %v allocations, want 0", n)
	}
}

// FuzzHeaderText: any bytes make text that HeaderBytes turns back into
// the same bytes, and the text is one character per byte.
func FuzzHeaderText(f *testing.F) {
	f.Add("\xe9")
	f.Add("\xc3\xa9\x00\r\n")
	f.Fuzz(func(t *testing.T, b string) {
		s := isolate.HeaderText(b)
		if n := len([]rune(s)); n != len(b) {
			t.Fatalf("HeaderText(%q) = %q: %d characters for %d bytes", b, s, n, len(b))
		}
		if back, ok := isolate.HeaderBytes(s); !ok || back != b {
			t.Fatalf("HeaderBytes(HeaderText(%q)) = %q, %v", b, back, ok)
		}
	})
}
