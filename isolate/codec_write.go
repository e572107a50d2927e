package isolate

import (
	"encoding/binary"
	"math"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Writing MessagePack: append functions producing exactly the bytes the
// msgpack library's Encoder writes for the same call (the smallest form of
// each integer and header), without its writer interface.
// TestCodec_AppendLikeMsgpack holds them to it.

// appendHead appends the header of a str, bin, array or map of n
// elements: the fixed form (fixLow+n) below fixMax, then the 8-bit form
// if the type has one (code8 != 0), the 16-bit and the 32-bit.
func appendHead(b []byte, n int, fixLow byte, fixMax int, code8, code16, code32 byte) []byte {
	switch {
	case n < fixMax:
		return append(b, fixLow|byte(n))
	case code8 != 0 && n <= math.MaxUint8:
		return append(b, code8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, code16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, code32), uint32(n))
}

func appendString(b []byte, s string) []byte {
	b = appendHead(b, len(s), msgpcode.FixedStrLow, 32, msgpcode.Str8, msgpcode.Str16, msgpcode.Str32)
	return append(b, s...)
}

func appendBytesLen(b []byte, n int) []byte {
	return appendHead(b, n, 0, 0, msgpcode.Bin8, msgpcode.Bin16, msgpcode.Bin32)
}

func appendMapLen(b []byte, n int) []byte {
	return appendHead(b, n, msgpcode.FixedMapLow, 16, 0, msgpcode.Map16, msgpcode.Map32)
}

func appendArrayLen(b []byte, n int) []byte {
	return appendHead(b, n, msgpcode.FixedArrayLow, 16, 0, msgpcode.Array16, msgpcode.Array32)
}

// appendInt appends n in its smallest form.
func appendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return appendUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, msgpcode.Int8, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, msgpcode.Int16), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, msgpcode.Int32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Int64), uint64(n))
}

func appendUint(b []byte, n uint64) []byte {
	switch {
	case n <= uint64(msgpcode.PosFixedNumHigh):
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, msgpcode.Uint8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, msgpcode.Uint16), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, msgpcode.Uint32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Uint64), n)
}

func appendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Double), math.Float64bits(f))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, msgpcode.True)
	}
	return append(b, msgpcode.False)
}

// appendExtHeader appends the header of an extension of type id with n
// bytes of payload.
func appendExtHeader(b []byte, id int8, n int) []byte {
	switch n {
	case 1:
		b = append(b, msgpcode.FixExt1)
	case 2:
		b = append(b, msgpcode.FixExt2)
	case 4:
		b = append(b, msgpcode.FixExt4)
	case 8:
		b = append(b, msgpcode.FixExt8)
	case 16:
		b = append(b, msgpcode.FixExt16)
	default:
		b = appendHead(b, n, 0, 0, msgpcode.Ext8, msgpcode.Ext16, msgpcode.Ext32)
	}
	return append(b, byte(id))
}
