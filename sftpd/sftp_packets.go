package sftpd

import (
	"encoding/binary"
	"errors"
)

// SFTP packet types, draft-ietf-secsh-filexfer-02 §3.
const (
	fxpInit          = 1
	fxpVersion       = 2
	fxpOpen          = 3
	fxpClose         = 4
	fxpRead          = 5
	fxpWrite         = 6
	fxpLstat         = 7
	fxpFstat         = 8
	fxpSetstat       = 9
	fxpFsetstat      = 10
	fxpOpendir       = 11
	fxpReaddir       = 12
	fxpRemove        = 13
	fxpMkdir         = 14
	fxpRmdir         = 15
	fxpRealpath      = 16
	fxpStat          = 17
	fxpRename        = 18
	fxpReadlink      = 19
	fxpSymlink       = 20
	fxpStatus        = 101
	fxpHandle        = 102
	fxpData          = 103
	fxpName          = 104
	fxpAttrs         = 105
	fxpExtended      = 200
	fxpExtendedReply = 201
)

// Status codes, draft-ietf-secsh-filexfer-02 §7.
const (
	fxOK               = 0
	fxEOF              = 1
	fxNoSuchFile       = 2
	fxPermissionDenied = 3
	fxFailure          = 4
	fxBadMessage       = 5
	fxOpUnsupported    = 8
)

// Open flags, draft-ietf-secsh-filexfer-02 §6.3.
const (
	fxfRead   = 0x01
	fxfWrite  = 0x02
	fxfAppend = 0x04
	fxfCreat  = 0x08
	fxfTrunc  = 0x10
	fxfExcl   = 0x20
)

// Attribute flags, draft-ietf-secsh-filexfer-02 §5.
const (
	attrSize        = 0x00000001
	attrUIDGID      = 0x00000002
	attrPermissions = 0x00000004
	attrACModTime   = 0x00000008
	attrExtended    = 0x80000000
)

// errShortPacket is a request that ends before its fields do.
var errShortPacket = errors.New("packet too short")

// reader decodes the fields of one request. The first error sticks, so a handler can
// read every field and check once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint32() uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.err = errShortPacket
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) uint64() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.err = errShortPacket
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// bytes returns a length-prefixed string without copying; it aliases the packet buffer.
func (r *reader) bytes() []byte {
	n := r.uint32()
	if r.err != nil || uint64(len(r.b)) < uint64(n) {
		r.err = errShortPacket
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return string(r.bytes()) }

// attrs decodes an ATTRS structure (§5).
func (r *reader) attrs() fileAttrs {
	var a fileAttrs
	a.flags = r.uint32()
	if a.flags&attrSize != 0 {
		a.size = r.uint64()
	}
	if a.flags&attrUIDGID != 0 {
		a.uid, a.gid = r.uint32(), r.uint32()
	}
	if a.flags&attrPermissions != 0 {
		a.perm = r.uint32()
	}
	if a.flags&attrACModTime != 0 {
		a.atime, a.mtime = r.uint32(), r.uint32()
	}
	if a.flags&attrExtended != 0 {
		n := r.uint32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.bytes()
			r.bytes()
		}
	}
	return a
}

// writer builds one reply packet: the length is filled in by finish.
type writer struct{ b []byte }

func (w *writer) start(typ byte, id uint32) {
	w.b = append(w.b[:0], 0, 0, 0, 0, typ)
	w.uint32(id)
}

func (w *writer) uint32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) uint64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *writer) string(s string) { w.uint32(uint32(len(s))); w.b = append(w.b, s...) }
func (w *writer) bytes(p []byte)  { w.uint32(uint32(len(p))); w.b = append(w.b, p...) }

func (w *writer) attrs(a fileAttrs) {
	w.uint32(a.flags &^ attrExtended)
	if a.flags&attrSize != 0 {
		w.uint64(a.size)
	}
	if a.flags&attrUIDGID != 0 {
		w.uint32(a.uid)
		w.uint32(a.gid)
	}
	if a.flags&attrPermissions != 0 {
		w.uint32(a.perm)
	}
	if a.flags&attrACModTime != 0 {
		w.uint32(a.atime)
		w.uint32(a.mtime)
	}
}

// finish writes the packet length and returns the packet.
func (w *writer) finish() []byte {
	binary.BigEndian.PutUint32(w.b, uint32(len(w.b)-4))
	return w.b
}

func putUint32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }

// putLength writes a packet's length field: the bytes after it, n in all.
func putLength(pkt []byte, n int) { binary.BigEndian.PutUint32(pkt, uint32(n)) }
