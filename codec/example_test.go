package codec_test

import (
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/codec"
)

// A message from JS decodes into Go values: undefined stays distinct from
// null, and a Date becomes a time.Time.
func ExampleUnmarshal() {
	// {seen: new Date(0), note: undefined, tags: ["a"]} as a script sends it.
	msg, _ := codec.Marshal(map[string]any{"seen": time.UnixMilli(0), "note": codec.Undefined{}, "tags": []string{"a"}})

	var generic map[string]any
	_ = codec.Unmarshal(msg, &generic)
	fmt.Printf("%T %T %v\n", generic["note"], generic["seen"], generic["tags"])

	var typed struct {
		Seen time.Time `msgpack:"seen"`
		Note *string   `msgpack:"note"`
		Tags []string  `msgpack:"tags"`
	}
	_ = codec.Unmarshal(msg, &typed)
	fmt.Println(typed.Seen.Format(time.RFC3339), typed.Note == nil, typed.Tags)
	// Output:
	// codec.Undefined time.Time [a]
	// 1970-01-01T00:00:00Z true [a]
}
