package codec_test

import (
	"testing"
	"time"

	"github.com/cloister-rt/cloister/codec"
)

var benchJob = Job{Inner: Inner{Note: "n"}, ID: 7, Due: time.UnixMilli(1_700_000_000_000), Data: []byte("payload"),
	Tags: []string{"a", "b", "c"}, Scores: map[string]float64{"x": 1.5, "y": 2}, Extra: map[string]any{"k": []any{1, "two"}}}

func BenchmarkMarshal_Struct(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.Marshal(benchJob); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal_Struct(b *testing.B) {
	data, err := codec.Marshal(benchJob)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var j Job
		if err := codec.Unmarshal(data, &j); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal_Any(b *testing.B) {
	data, err := codec.Marshal(benchJob)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var v any
		if err := codec.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}
