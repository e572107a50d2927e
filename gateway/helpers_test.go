package gateway_test

import (
	"testing"

	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/vmihailenco/msgpack/v5"
)

func encodeReq(method, url string) (*mailbox.Envelope, error) {
	return codec.Encode(isolate.HTTPRequest{Method: method, URL: url})
}

func decodeBody(t *testing.T, env *mailbox.Envelope) string {
	t.Helper()
	var res isolate.HTTPResponse
	if err := msgpack.Unmarshal(env.Data(), &res); err != nil {
		t.Fatal(err)
	}
	return string(res.Body)
}
