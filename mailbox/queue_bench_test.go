package mailbox_test

import (
	"strconv"
	"testing"

	"github.com/cloister-rt/cloister/mailbox"
)

// BenchmarkQueue_DropOldest keeps a full queue of messages behind many
// notices and drops the oldest message for every new one, as a flooded
// drop_oldest mailbox does.
func BenchmarkQueue_DropOldest(b *testing.B) {
	for _, size := range []int{100, 10_000} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			var q mailbox.Queue[int]
			for i := range size {
				q.PushNotice(i)
				q.PushMessage(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				q.PushMessage(i)
				q.DropOldest()
			}
		})
	}
}
