package wire

// Kind says what a frame asks of, or tells, the receiving node.
type Kind uint8

// Frame kinds. Requests name a target (Frame.To); answers name the
// request they answer by Frame.ID.
const (
	KindSend      Kind = iota + 1 // deliver Env to To
	KindCall                      // deliver Env to To as call ID; answered by KindReply
	KindReply                     // the answer to call, spawn or inspect ID: Env or Err
	KindExit                      // a trappable exit signal with Reason to To
	KindKill                      // an untrappable kill of To
	KindMonitor                   // watch To's running incarnation under reference ID
	KindDemonitor                 // drop monitor ID on To
	KindDown                      // monitor ID fired with Reason
	KindLink                      // link From (on the sender) with To under link ID
	KindUnlink                    // drop link ID
	KindLinkExit                  // the process on the sender's side of link ID ended with Reason
	KindSpawn                     // spawn a child of template supervisor To with Env as args; answered by KindReply with its capability
	KindInspect                   // run To's inspect(); answered by KindReply
	KindRefused                   // a one-way request (send, exit, kill, monitor, link) was refused: Err says why
	KindRelease                   // the sender holds To, a token of the receiver, no more: it received it ID times since it last held none
	KindPinned                    // the sender handed To, a token of the receiver, on to another node: keep it while it is not revoked
	kindEnd                       // first invalid kind
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k >= KindSend && k < kindEnd }

// TokenSize is the length of a capability token: 128 random bits.
const TokenSize = 16

// Token names one exported capability on the node that minted it.
type Token [TokenSize]byte

// Ref designates a process on another node, the one named by Node. It is
// one of two forms:
//   - a token minted by Node in incarnation Inc (Path empty): Node looks
//     the token up in its export table, which holds the capability with
//     its rights and revokers, and checks it on every use;
//   - a static grant (Path set, Token zero): the frame's From process,
//     which lives on the sending node, holds a grant in the manifest
//     over Path with Rights; Node checks that against its own copy of the
//     manifest.
type Ref struct {
	Node   string
	Inc    uint64
	Token  Token
	Path   string
	Rights uint16 // the rights the reference carries, as capability.Rights
}

// Envelope is a message in flight: msgpack bytes and the capabilities
// they carry, in the order the bytes refer to them.
type Envelope struct {
	Data []byte
	Caps []Ref
}

// ErrCode classifies an error carried in a frame, so the receiving node
// can rebuild the typed error a script or a Go caller expects.
type ErrCode uint8

// Error codes.
const (
	ErrOther       ErrCode = iota // Message says what
	ErrNoProc                     // the process has ended or does not exist
	ErrDenied                     // the capability does not carry the right, or was revoked
	ErrMailboxFull                // the target's mailbox refused the message
	ErrCalleeCrash                // the callee crashed while handling the call
	ErrCallDepth                  // the chain of calls is too deep
	ErrNoInspect                  // the target exports no inspect()
	ErrBadFrame                   // the frame could not be acted on as sent
	errCodeEnd
)

// Valid reports whether c is a known code.
func (c ErrCode) Valid() bool { return c < errCodeEnd }

// Error is an error carried in a frame.
type Error struct {
	Code    ErrCode
	Message string
	Need    uint16 // for ErrDenied: the rights that were missing
	Revoked bool   // for ErrDenied: the capability was revoked
}

func (e *Error) Error() string { return e.Message }

// Frame is one request or answer between two nodes.
type Frame struct {
	Kind   Kind
	To     Ref    // the target of a request
	From   string // the path of the process on the sending node that acts
	ID     uint64 // call, monitor, link, spawn or inspect reference
	Depth  uint32 // calls in the chain, this one included (KindCall)
	Reason string // KindExit, KindDown, KindLinkExit
	Link   bool   // KindSpawn: link the child with From
	Env    *Envelope
	Err    *Error
}

// Handler is the node side of a transport: the transport calls it for
// every frame a peer sent, in the order that peer sent them, and when a
// peer node comes up or is lost. Calls never block on the network; a
// Handler must not block either.
type Handler interface {
	// Deliver acts on a frame that peer sent.
	Deliver(peer string, f *Frame)
	// PeerUp reports that peer is reachable, running incarnation inc.
	// A new incarnation of a known peer means the old one was lost.
	PeerUp(peer string, inc uint64)
	// PeerDown reports that peer's incarnation inc is lost: it stopped
	// answering heartbeats, or left.
	PeerDown(peer string, inc uint64)
}

// Transport carries frames from this node to its peers.
type Transport interface {
	// Self is this node's name.
	Self() string
	// Incarnation is this run of the node: random, never reused.
	Incarnation() uint64
	// Send queues f for peer and returns at once. It returns an error
	// wrapping ErrNoConnection when peer is not reachable, or
	// ErrBackpressure when too much is already in flight to peer; f was
	// then not sent.
	Send(peer string, f *Frame) error
	// Peer reports whether peer is reachable now and its incarnation.
	Peer(peer string) (inc uint64, up bool)
}

// Copier is implemented by a Transport whose Send (and SendTracked, if
// it is a Tracker) has encoded the frame when it returns, and keeps no
// reference to the frame or to anything it points to: the caller may
// reuse the frame at once.
type Copier interface {
	CopiesFrames()
}

// Borrower is implemented by a Handler that keeps nothing of a frame
// once Deliver returns: no pointer to the frame, its envelope, its
// capability list or its error, and a copy of any message bytes it keeps
// (strings may be kept). Its transport may then lend it the frames of a
// Decoder, whose message bytes alias the batch they came in.
type Borrower interface {
	BorrowsFrames()
}

// Holder is implemented by a Handler that may hold a peer back: while
// Holding(peer) reports true, the transport still delivers every frame
// that peer sent but acknowledges none of them, so the peer's window
// fills and its Send returns ErrBackpressure; the transport keeps telling
// the peer it is alive and holding, so the window is not reopened as if
// acknowledgements had been lost. A Handler that stops holding calls
// Release, if its transport is a Releaser, so the window reopens at once.
// Holding may be called from any of the transport's goroutines, Deliver's
// included; it must be safe for concurrent use and must not block.
type Holder interface {
	Holding(peer string) bool
}

// Releaser is implemented by a Transport that honours Holder: Release
// tells it that the Handler no longer holds peer back, so it acknowledges
// what it received from peer now rather than at its next tick. It never
// blocks and may be called from any goroutine, a Handler call included.
type Releaser interface {
	Release(peer string)
}

// Credit is what a tracked frame holds of its sender until the peer has
// taken the frame (see Tracker): the bytes it was charged, given back
// once. Credit must be safe for concurrent use, must not block and must
// not call the transport.
type Credit interface {
	Credit(n int64)
}

// Tracker is implemented by a Transport that can tell when a peer has
// taken a frame: its handler has acted on it, and does not hold it back
// (Holder). SendTracked is Send for a frame that holds n of c until then:
// when it returns nil, c.Credit(n) is called exactly once, after the peer
// has acknowledged the frame, or when the frame is lost (the peer is lost,
// the transport closes, the frame could not be published, or the window
// to the peer was reset with its acknowledgement missing). When it
// returns an error, c is not called. A nil c makes it Send.
type Tracker interface {
	SendTracked(peer string, f *Frame, c Credit, n int64) error
}
