package wire

import "errors"

// Transport errors.
var (
	// ErrNoConnection: the peer node is not reachable.
	ErrNoConnection = errors.New("noconnection: the node is not reachable")
	// ErrBackpressure: too many frames are in flight to the peer.
	ErrBackpressure = errors.New("backpressure: too much is in flight to the node")
)
