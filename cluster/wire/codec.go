package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Limits of the codec. The encoder refuses a frame that breaks one, and
// the decoder rejects input that claims to.
const (
	// MaxString bounds every string in a frame: node names, paths,
	// reasons, error messages.
	MaxString = 4 << 10
	// MaxCaps bounds the capabilities one envelope carries.
	MaxCaps = 4096
	// MaxFrameSize bounds one encoded frame, its message bytes included.
	MaxFrameSize = 8 << 20
)

// BatchVersion is the first byte of every batch.
const BatchVersion = 1

// Frame flag bits.
const (
	frameHasEnv = 1 << iota
	frameHasErr
	frameLink
	frameFlagsAll = frameHasEnv | frameHasErr | frameLink
)

// Ref flag bits.
const (
	refHasToken = 1 << iota
	refHasInc
	refFlagsAll = refHasToken | refHasInc
)

// Error flag bits.
const (
	errRevoked    = 1 << iota
	errFlagsAll   = errRevoked
	maxUint16     = math.MaxUint16
	maxUvarintLen = binary.MaxVarintLen64
)

// The encoding of a frame, in order (varint = unsigned LEB128, minimal;
// str = varint length then bytes):
//
//	kind    byte
//	flags   byte: 1 env, 2 err, 4 link
//	to      ref
//	from    str
//	id      varint
//	depth   varint (≤ 2^32-1)
//	reason  str
//	env     (if flag 1) data: varint length then bytes; caps: varint count then refs
//	err     (if flag 2) code byte; flags byte (1 revoked); need varint (≤ 2^16-1); message str
//
//	ref     flags byte: 1 token, 2 inc; node str; inc 8 bytes little-endian (if flag 2);
//	        token 16 bytes (if flag 1); path str; rights varint (≤ 2^16-1)
//
// The encoding is canonical: the decoder accepts exactly the bytes the
// encoder writes, so decoding and encoding again reproduces the input.

// AppendFrame appends the encoding of f to dst and returns the extended
// slice. It returns dst unchanged and an error if f cannot be encoded: an
// unknown kind or error code, a string, capability list or frame over its
// limit, a Depth or rights value out of range.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	start := len(dst)
	if !f.Kind.Valid() {
		return dst, fmt.Errorf("encode frame: kind %d: %w", f.Kind, ErrUnknownKind)
	}
	var flags byte
	if f.Env != nil {
		flags |= frameHasEnv
	}
	if f.Err != nil {
		flags |= frameHasErr
		if !f.Err.Code.Valid() {
			return dst, fmt.Errorf("encode frame: error code %d: %w", f.Err.Code, ErrUnknownCode)
		}
	}
	if f.Link {
		flags |= frameLink
	}
	if err := checkStrings(f); err != nil {
		return dst, err
	}
	if f.Env != nil {
		if len(f.Env.Caps) > MaxCaps {
			return dst, fmt.Errorf("encode frame: %d capabilities: %w (max %d)", len(f.Env.Caps), ErrTooLarge, MaxCaps)
		}
		if len(f.Env.Data) > MaxFrameSize {
			return dst, fmt.Errorf("encode frame: %d message bytes: %w (max %d)", len(f.Env.Data), ErrTooLarge, MaxFrameSize)
		}
	}
	b := append(dst, byte(f.Kind), flags)
	b = appendRef(b, &f.To)
	b = appendString(b, f.From)
	b = binary.AppendUvarint(b, f.ID)
	b = binary.AppendUvarint(b, uint64(f.Depth))
	b = appendString(b, f.Reason)
	if f.Env != nil {
		b = binary.AppendUvarint(b, uint64(len(f.Env.Data)))
		b = append(b, f.Env.Data...)
		b = binary.AppendUvarint(b, uint64(len(f.Env.Caps)))
		for i := range f.Env.Caps {
			b = appendRef(b, &f.Env.Caps[i])
		}
	}
	if e := f.Err; e != nil {
		var ef byte
		if e.Revoked {
			ef |= errRevoked
		}
		b = append(b, byte(e.Code), ef)
		b = binary.AppendUvarint(b, uint64(e.Need))
		b = appendString(b, e.Message)
	}
	if n := len(b) - start; n > MaxFrameSize {
		return b[:start], fmt.Errorf("encode frame: %d bytes: %w (max %d)", n, ErrTooLarge, MaxFrameSize)
	}
	return b, nil
}

// checkStrings checks every string of f against MaxString.
func checkStrings(f *Frame) error {
	if err := checkRef("to", &f.To); err != nil {
		return err
	}
	if err := checkString("from", f.From); err != nil {
		return err
	}
	if err := checkString("reason", f.Reason); err != nil {
		return err
	}
	if f.Env != nil && len(f.Env.Caps) <= MaxCaps {
		for i := range f.Env.Caps {
			if err := checkRef("capability", &f.Env.Caps[i]); err != nil {
				return err
			}
		}
	}
	if f.Err != nil {
		return checkString("error message", f.Err.Message)
	}
	return nil
}

func checkString(what, s string) error {
	if len(s) > MaxString {
		return fmt.Errorf("encode frame: %s of %d bytes: %w (max %d)", what, len(s), ErrTooLarge, MaxString)
	}
	return nil
}

func checkRef(what string, r *Ref) error {
	if len(r.Node) > MaxString {
		return checkString(what+" node", r.Node)
	}
	if len(r.Path) > MaxString {
		return checkString(what+" path", r.Path)
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendRef(b []byte, r *Ref) []byte {
	var flags byte
	if r.Token != (Token{}) {
		flags |= refHasToken
	}
	if r.Inc != 0 {
		flags |= refHasInc
	}
	b = append(b, flags)
	b = appendString(b, r.Node)
	if r.Inc != 0 {
		b = binary.LittleEndian.AppendUint64(b, r.Inc)
	}
	if flags&refHasToken != 0 {
		b = append(b, r.Token[:]...)
	}
	b = appendString(b, r.Path)
	return binary.AppendUvarint(b, uint64(r.Rights))
}

// MarshalFrame returns the encoding of f in a new slice.
func MarshalFrame(f *Frame) ([]byte, error) { return AppendFrame(nil, f) }

// DecodeFrame decodes one frame that fills all of b. The frame does not
// alias b. It never panics, and allocates no more than b's length
// justifies; every error wraps ErrMalformed.
func DecodeFrame(b []byte) (*Frame, error) {
	if len(b) > MaxFrameSize {
		return nil, malformed("frame", fmt.Errorf("%d bytes: %w (max %d)", len(b), ErrTooLarge, MaxFrameSize))
	}
	d := decoder{b: b}
	f := d.frame(new(frameEnv))
	if d.err == nil && len(d.b) != 0 {
		d.fail("frame", fmt.Errorf("%d bytes after the frame: %w", len(d.b), ErrTrailing))
	}
	if d.err != nil {
		return nil, d.err
	}
	return f, nil
}

func malformed(field string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrMalformed, field, err)
}

// decoder reads fields off b; after the first error it reads nothing and
// keeps that error.
type decoder struct {
	b   []byte
	err error
	// The strings of the last frame decoded, by field: the frames of a
	// batch mostly name the same nodes and paths, so a string equal to
	// the last one of its field is shared instead of allocated again.
	last [numInterned]string
	// alias: a message's bytes alias the input instead of being copied
	// (Decoder).
	alias bool
}

// The fields whose strings a decoder shares between frames.
const (
	internToNode = iota
	internToPath
	internFrom
	numInterned
)

// internString reads a string, sharing it with the last one read for
// slot when they are equal.
func (d *decoder) internString(field string, slot int) string {
	p := d.bytes(field, d.uvarint(field, MaxString))
	if len(p) == 0 {
		return ""
	}
	if string(p) == d.last[slot] { // compared without a copy
		return d.last[slot]
	}
	s := string(p)
	d.last[slot] = s
	return s
}

func (d *decoder) fail(field string, err error) {
	if d.err == nil {
		d.err = malformed(field, err)
	}
	d.b = nil
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail(field, ErrTruncated)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// uvarint reads a minimal unsigned LEB128 number no greater than max.
// Most fields of a frame are one byte: those are read here, inlined, and
// the rest, and every error, by uvarintSlow.
func (d *decoder) uvarint(field string, max uint64) uint64 {
	if b := d.b; len(b) > 0 {
		if x := uint64(b[0]); x < 0x80 && x <= max {
			d.b = b[1:]
			return x
		}
	}
	return d.uvarintSlow(field, max)
}

func (d *decoder) uvarintSlow(field string, max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var s uint
	for i := 0; ; i++ {
		if i == len(d.b) {
			d.fail(field, ErrTruncated)
			return 0
		}
		if i == maxUvarintLen {
			d.fail(field, fmt.Errorf("varint: %w", ErrTooLarge))
			return 0
		}
		c := d.b[i]
		if c < 0x80 {
			if i == maxUvarintLen-1 && c > 1 {
				d.fail(field, fmt.Errorf("varint: %w", ErrTooLarge))
				return 0
			}
			if i > 0 && c == 0 {
				d.fail(field, fmt.Errorf("varint: %w", ErrNonCanonical))
				return 0
			}
			x |= uint64(c) << s
			d.b = d.b[i+1:]
			if x > max {
				d.fail(field, fmt.Errorf("%d: %w (max %d)", x, ErrTooLarge, max))
				return 0
			}
			return x
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
}

// bytes returns the next n bytes, aliasing the input.
func (d *decoder) bytes(field string, n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(field, fmt.Errorf("%d bytes announced, %d left: %w", n, len(d.b), ErrTruncated))
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) string(field string) string {
	n := d.uvarint(field, MaxString)
	return string(d.bytes(field, n))
}

func (d *decoder) flags(field string, all byte) byte {
	c := d.byte(field)
	if c&^all != 0 {
		d.fail(field, fmt.Errorf("flags %#x: %w", c, ErrNonCanonical))
		return 0
	}
	return c
}

// refFields names the fields of a ref in errors, built once so decoding
// allocates no field names.
type refFields struct{ ref, node, inc, token, path, rights string }

func newRefFields(ref string) *refFields {
	return &refFields{ref, ref + " node", ref + " incarnation", ref + " token", ref + " path", ref + " rights"}
}

var (
	toFields  = newRefFields("to")
	capFields = newRefFields("capability")
)

func (d *decoder) ref(field *refFields, r *Ref, nodeSlot int) {
	flags := d.flags(field.ref, refFlagsAll)
	if nodeSlot >= 0 {
		r.Node = d.internString(field.node, nodeSlot)
	} else {
		r.Node = d.string(field.node)
	}
	if flags&refHasInc != 0 {
		if p := d.bytes(field.inc, 8); p != nil {
			r.Inc = binary.LittleEndian.Uint64(p)
			if r.Inc == 0 {
				d.fail(field.inc, fmt.Errorf("zero: %w", ErrNonCanonical))
			}
		}
	}
	if flags&refHasToken != 0 {
		if p := d.bytes(field.token, TokenSize); p != nil {
			copy(r.Token[:], p)
			if r.Token == (Token{}) {
				d.fail(field.token, fmt.Errorf("zero: %w", ErrNonCanonical))
			}
		}
	}
	if nodeSlot >= 0 {
		r.Path = d.internString(field.path, internToPath)
	} else {
		r.Path = d.string(field.path)
	}
	r.Rights = uint16(d.uvarint(field.rights, maxUint16))
}

// minRefSize is the fewest bytes a ref takes: flags, two empty strings,
// rights.
const minRefSize = 4

// frameEnv holds a frame and its envelope, allocated together.
type frameEnv struct {
	f Frame
	e Envelope
}

func (d *decoder) frame(fe *frameEnv) *Frame {
	f := &fe.f
	f.Kind = Kind(d.byte("kind"))
	if d.err == nil && !f.Kind.Valid() {
		d.fail("kind", fmt.Errorf("%d: %w", f.Kind, ErrUnknownKind))
	}
	flags := d.flags("flags", frameFlagsAll)
	f.Link = flags&frameLink != 0
	d.ref(toFields, &f.To, internToNode)
	f.From = d.internString("from", internFrom)
	f.ID = d.uvarint("id", math.MaxUint64)
	f.Depth = uint32(d.uvarint("depth", math.MaxUint32))
	f.Reason = d.string("reason")
	if flags&frameHasEnv != 0 && d.err == nil {
		env := &fe.e
		if data := d.bytes("data", d.uvarint("data length", MaxFrameSize)); len(data) > 0 {
			if d.alias {
				env.Data = data
			} else {
				env.Data = append([]byte(nil), data...)
			}
		}
		n := d.uvarint("capability count", MaxCaps)
		if d.err == nil && n > uint64(len(d.b)/minRefSize) {
			d.fail("capability count", fmt.Errorf("%d capabilities announced, %d bytes left: %w", n, len(d.b), ErrTruncated))
		}
		if n > 0 && d.err == nil {
			env.Caps = make([]Ref, n)
			for i := range env.Caps {
				d.ref(capFields, &env.Caps[i], -1)
			}
		}
		f.Env = env
	}
	if flags&frameHasErr != 0 && d.err == nil {
		e := new(Error)
		e.Code = ErrCode(d.byte("error code"))
		if d.err == nil && !e.Code.Valid() {
			d.fail("error code", fmt.Errorf("%d: %w", e.Code, ErrUnknownCode))
		}
		e.Revoked = d.flags("error flags", errFlagsAll)&errRevoked != 0
		e.Need = uint16(d.uvarint("error need", maxUint16))
		e.Message = d.string("error message")
		f.Err = e
	}
	return f
}

// Batch builds one batch: several encoded frames in one message, in order.
// The zero Batch is empty and ready to use. Not safe for concurrent use.
type Batch struct {
	buf []byte
	n   int
}

// Reset empties b, keeping its buffer.
func (b *Batch) Reset() { b.buf, b.n = b.buf[:0], 0 }

// Len is the number of frames in b.
func (b *Batch) Len() int { return b.n }

// Size is the encoded size of b, in bytes.
func (b *Batch) Size() int {
	if b.n == 0 {
		return 0
	}
	return len(b.buf)
}

// SizeWith is the size b would have with one more encoded frame of n bytes.
func (b *Batch) SizeWith(n int) int {
	size := len(b.buf)
	if b.n == 0 {
		size = 1
	}
	return size + uvarintLen(uint64(n)) + n
}

// Add appends an encoded frame, as AppendFrame wrote it.
func (b *Batch) Add(frame []byte) {
	if b.n == 0 {
		b.buf = append(b.buf[:0], BatchVersion)
	}
	b.buf = binary.AppendUvarint(b.buf, uint64(len(frame)))
	b.buf = append(b.buf, frame...)
	b.n++
}

// AddFrame encodes f and appends it.
func (b *Batch) AddFrame(f *Frame) error {
	p, err := AppendFrame(nil, f)
	if err != nil {
		return err
	}
	b.Add(p)
	return nil
}

// Bytes returns the batch's encoding, valid until the next change of b;
// nil when b is empty.
func (b *Batch) Bytes() []byte {
	if b.n == 0 {
		return nil
	}
	return b.buf
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// AppendBatch appends a batch of frames to dst.
func AppendBatch(dst []byte, frames []*Frame) ([]byte, error) {
	if len(frames) == 0 {
		return dst, fmt.Errorf("encode batch: no frames")
	}
	start := len(dst)
	b := append(dst, BatchVersion)
	var scratch []byte
	for i, f := range frames {
		var err error
		scratch, err = AppendFrame(scratch[:0], f)
		if err != nil {
			return dst[:start], fmt.Errorf("encode batch: frame %d: %w", i, err)
		}
		b = binary.AppendUvarint(b, uint64(len(scratch)))
		b = append(b, scratch...)
	}
	return b, nil
}

// minFrameSize is the fewest bytes a frame takes: kind, flags, an empty
// ref, four empty fields.
const minFrameSize = 2 + minRefSize + 4

// MaxBatchFrames bounds the frames of one batch. A sender never puts more
// in a batch; a receiver refuses a batch that holds more, so that a peer
// cannot make a node build hundreds of thousands of frames (about 200
// bytes of Go memory each) out of one large message of minimal frames.
const MaxBatchFrames = 8192

// DecodeBatch decodes every frame of a batch, in order. It returns no
// frame if any part of b is malformed. It never panics, and allocates no
// more than b's length justifies; every error wraps ErrMalformed. The
// frames do not alias b.
func DecodeBatch(b []byte) ([]*Frame, error) {
	count, err := countBatch(b)
	if err != nil {
		return nil, err
	}
	d := decoder{b: b[1:]}
	return d.batch(make([]frameEnv, count), make([]*Frame, 0, count))
}

// countBatch checks a batch's version and counts its frames, as far as
// their lengths are plausible (a frame shorter than minFrameSize is
// malformed, and the count stops there), so that they can be allocated
// together.
func countBatch(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, malformed("batch", ErrTruncated)
	}
	if b[0] != BatchVersion {
		return 0, malformed("batch", fmt.Errorf("version %d: %w", b[0], ErrBadVersion))
	}
	if len(b) == 1 {
		return 0, malformed("batch", fmt.Errorf("no frames: %w", ErrTruncated))
	}
	count := 0
	for cd := (decoder{b: b[1:]}); len(cd.b) > 0; count++ {
		n := cd.uvarint("batch frame length", MaxFrameSize)
		if cd.err != nil || n < minFrameSize || n > uint64(len(cd.b)) {
			break
		}
		if count == MaxBatchFrames {
			return 0, malformed("batch", fmt.Errorf("more than %d frames: %w", MaxBatchFrames, ErrTooLarge))
		}
		cd.b = cd.b[n:]
	}
	return count, nil
}

// batch decodes the frames left in d.b into slab, which is zero, and
// then into new frames past its end, appending them to frames.
func (d *decoder) batch(slab []frameEnv, frames []*Frame) ([]*Frame, error) {
	fd := decoder{alias: d.alias, last: d.last}
	for len(d.b) > 0 {
		p := d.bytes("batch frame", d.uvarint("batch frame length", MaxFrameSize))
		if d.err != nil {
			return nil, d.err
		}
		fd.b, fd.err = p, nil
		var fe *frameEnv
		if i := len(frames); i < len(slab) {
			fe = &slab[i]
		} else {
			fe = new(frameEnv)
		}
		f := fd.frame(fe)
		if fd.err == nil && len(fd.b) != 0 {
			fd.fail("frame", fmt.Errorf("%d bytes after the frame: %w", len(fd.b), ErrTrailing))
		}
		if fd.err != nil {
			return nil, fmt.Errorf("batch frame %d: %w", len(frames), fd.err)
		}
		frames = append(frames, f)
	}
	d.last = fd.last
	return frames, nil
}

// Decoder decodes batches as DecodeBatch does, with the same checks, into
// storage it reuses from one batch to the next: a node's transport
// decodes every batch a peer sends with one Decoder, without allocating
// the frames again for each. In exchange the frames are lent: those of
// one Decode are valid until Done (or the next Decode), and each
// envelope's Data aliases the batch's bytes. Whoever keeps anything of
// a frame past Done must copy it; strings may be kept. The zero Decoder
// is ready to use. Not safe for concurrent use.
type Decoder struct {
	slab   []frameEnv // zero past the frames in use
	frames []*Frame
	used   int // the frames of slab in use since the last Decode
	last   [numInterned]string
}

// decoderKeep bounds the frames a Decoder keeps for the next batch (a
// batch of 64 KiB holds about 4,000 of the smallest frames): the frames
// of a larger batch are allocated for it alone.
const decoderKeep = 4096

// Decode decodes every frame of batch b, in order, ending the loan of
// the previous batch's frames. It returns no frame if any part of b is
// malformed; every error wraps ErrMalformed.
func (dc *Decoder) Decode(b []byte) ([]*Frame, error) {
	dc.Done()
	count, err := countBatch(b)
	if err != nil {
		return nil, err
	}
	slab, frames := dc.slab, dc.frames[:0]
	own := true // slab and frames are dc's
	if count > len(slab) {
		slab, frames = make([]frameEnv, count), make([]*Frame, 0, count)
		if own = count <= decoderKeep; own {
			dc.slab, dc.frames = slab, frames
		}
	}
	if own {
		dc.used = count
	}
	d := decoder{b: b[1:], alias: true, last: dc.last}
	out, err := d.batch(slab, frames)
	if err != nil {
		dc.Done()
		return nil, err
	}
	dc.last = d.last
	return out, nil
}

// Done ends the loan of the last batch's frames: the Decoder forgets
// them, and what they pointed to, until the next Decode.
func (dc *Decoder) Done() {
	clear(dc.slab[:dc.used])
	clear(dc.frames[:dc.used])
	dc.used = 0
}
