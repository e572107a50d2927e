package manifest_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/manifest"
)

// BenchmarkParse_SyntaxErrorAtTheEnd measures the search for the line of a
// syntax error in a manifest near the size limit.
func BenchmarkParse_SyntaxErrorAtTheEnd(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(head)
	for i := 0; i < 15000; i++ { // about 500 KiB
		sb.WriteString("    - name: w" + strconv.Itoa(i) + "\n      script: a.js\n")
	}
	sb.WriteString("     limits: {cpu: 5ms}\n")
	src := []byte(sb.String())
	for b.Loop() {
		if _, err := manifest.Parse(src); err == nil {
			b.Fatal("no error")
		}
	}
}

// BenchmarkParse_Large is the same manifest without the error, for scale.
func BenchmarkParse_Large(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(head)
	for i := 0; i < 15000; i++ { // about 500 KiB, within the YAML node limit
		sb.WriteString("    - name: w" + strconv.Itoa(i) + "\n      script: a.js\n")
	}
	src := []byte(sb.String())
	for b.Loop() {
		if _, err := manifest.Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}
