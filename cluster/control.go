package cluster

import (
	"encoding/binary"
	"errors"
)

// Message types: the first byte of every NATS message a transport
// publishes.
const (
	msgBatch     = 1 // on P.f.X.Y: [type][src inc 8][dst inc 8][end offset 8][wire batch]
	msgAck       = 2 // on P.f.X.Y: [type][src inc 8][dst inc 8][offset 8]
	msgHeartbeat = 3 // on P.hb.Y:  [type][inc 8][flags 1]
	msgGone      = 4 // on P.f.X.Y: [type][src inc 8][dst inc 8]: Y holds X's incarnation dst lost
	msgLeave     = 5 // on P.f.X.Y: [type][src inc 8][dst inc 8]: Y is leaving, after its last batch to X
	msgLostAck   = 6 // on P.f.X.Y: [type][src inc 8][dst inc 8]: Y has reported X's incarnation dst lost, and holds nothing of it
	msgHold      = 7 // on P.f.X.Y: [type][src inc 8][dst inc 8][offset 8]: Y acknowledges X's bytes up to offset and holds the rest back on purpose
)

// Header sizes.
const (
	batchHeader     = 1 + 8 + 8 + 8
	ackSize         = 1 + 8 + 8 + 8
	heartbeatSize   = 1 + 8 + 1
	goneSize        = 1 + 8 + 8
	heartbeatLeave  = 1
	heartbeatAllFlg = heartbeatLeave
)

var errBadControl = errors.New("malformed control message")

// header is the fixed part of a batch, ack or gone message.
type header struct {
	typ      byte
	src, dst uint64
	off      uint64
}

func appendHeader(b []byte, h header) []byte {
	b = append(b, h.typ)
	b = binary.LittleEndian.AppendUint64(b, h.src)
	b = binary.LittleEndian.AppendUint64(b, h.dst)
	if h.typ == msgBatch || h.typ == msgAck || h.typ == msgHold {
		b = binary.LittleEndian.AppendUint64(b, h.off)
	}
	return b
}

// parseHeader reads the header of a message on a frame subject and
// returns the rest (the wire batch of a msgBatch).
func parseHeader(p []byte) (header, []byte, error) {
	if len(p) < 1 {
		return header{}, nil, errBadControl
	}
	h := header{typ: p[0]}
	switch h.typ {
	case msgBatch:
		if len(p) <= batchHeader {
			return header{}, nil, errBadControl
		}
	case msgAck, msgHold:
		if len(p) != ackSize {
			return header{}, nil, errBadControl
		}
	case msgGone, msgLeave, msgLostAck:
		if len(p) != goneSize {
			return header{}, nil, errBadControl
		}
	default:
		return header{}, nil, errBadControl
	}
	h.src = binary.LittleEndian.Uint64(p[1:])
	h.dst = binary.LittleEndian.Uint64(p[9:])
	if h.typ != msgBatch && h.typ != msgAck && h.typ != msgHold {
		return h, nil, nil
	}
	h.off = binary.LittleEndian.Uint64(p[17:])
	return h, p[batchHeader:], nil
}

func appendHeartbeat(b []byte, inc uint64, leaving bool) []byte {
	b = append(b, msgHeartbeat)
	b = binary.LittleEndian.AppendUint64(b, inc)
	var flags byte
	if leaving {
		flags |= heartbeatLeave
	}
	return append(b, flags)
}

func parseHeartbeat(p []byte) (inc uint64, leaving bool, err error) {
	if len(p) != heartbeatSize || p[0] != msgHeartbeat || p[9]&^heartbeatAllFlg != 0 {
		return 0, false, errBadControl
	}
	inc = binary.LittleEndian.Uint64(p[1:])
	if inc == 0 {
		return 0, false, errBadControl
	}
	return inc, p[9]&heartbeatLeave != 0, nil
}
