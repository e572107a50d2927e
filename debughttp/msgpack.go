package debughttp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cloister-rt/cloister/codec"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

const maxJSONDepth = 64

// errTooDeep is returned for a message nested deeper than maxJSONDepth.
var errTooDeep = errors.New("nested too deeply")

// toJSONValue decodes one msgpack message into values encoding/json can
// write. Capabilities appear as the string "[capability]": the operator sees
// that one was sent, never a handle; undefined becomes null and a Date its
// RFC 3339 time.
func toJSONValue(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, nil
	}
	d := msgpack.NewDecoder(bytes.NewReader(data))
	v, err := decodeAny(d, 0)
	if err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	return v, nil
}

func decodeAny(d *msgpack.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errTooDeep
	}
	c, err := d.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, min(n, 1024))
		for range n {
			k, err := decodeAny(d, depth+1)
			if err != nil {
				return nil, err
			}
			v, err := decodeAny(d, depth+1)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = v
		}
		return m, nil
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		a := make([]any, 0, min(n, 1024))
		for range n {
			v, err := decodeAny(d, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	case msgpcode.IsExt(c):
		return decodeExt(d)
	}
	v, err := d.DecodeInterfaceLoose()
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return fmt.Sprint(f), err // JSON has no NaN or Infinity
	}
	return v, err
}

func decodeExt(d *msgpack.Decoder) (any, error) {
	id, n, err := d.DecodeExtHeader()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > 16 {
		return nil, fmt.Errorf("extension type %d of %d bytes", id, n)
	}
	p := make([]byte, n)
	if err := d.ReadFull(p); err != nil {
		return nil, err
	}
	switch id {
	case codec.ExtUndefined:
		return nil, nil
	case codec.ExtCapability:
		return "[capability]", nil
	case codec.ExtDate:
		if n != codec.DateLen {
			return nil, fmt.Errorf("date of %d bytes", n)
		}
		t, ok := codec.DateTime(math.Float64frombits(binary.BigEndian.Uint64(p)))
		if !ok {
			return "Invalid Date", nil
		}
		return t.Format(time.RFC3339Nano), nil
	case codec.ExtTimestamp:
		return fmt.Sprintf("[timestamp %x]", p), nil
	}
	return nil, fmt.Errorf("unknown extension type %d", id)
}
