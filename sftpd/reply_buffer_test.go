package sftpd

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// TestPipelinedReadsComeBackWhole sends many READs at once, of every size from one byte
// to more than the largest answered, some ending past the end of the file and some
// starting there, with a STAT among them, so that replies are gathered in the reply
// buffer, reads are taken into it directly, and batches are written in between: every
// reply must carry exactly the file's bytes at its offset.
func TestPipelinedReadsComeBackWhole(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	content := make([]byte, 700_001)
	if _, err := rand.Read(content); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, "data")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	c := newRawClient(t, home)
	h := c.open(path, fxfRead, 0)
	type read struct {
		off  int
		size uint32
	}
	var reads []read
	sizes := []uint32{1, 4096, 32768, maxReadWrite - 1, maxReadWrite, 1 << 20}
	for i := range 60 {
		reads = append(reads, read{off: (i * 100_003) % (len(content) + 50_000), size: sizes[i%len(sizes)]})
	}
	sent := make(chan []uint32, 1)
	go func() {
		var ids []uint32
		for i, r := range reads {
			ids = append(ids, c.send(fxpRead, func(w *writer) { w.string(h); w.uint64(uint64(r.off)); w.uint32(r.size) }, false))
			if i == 30 {
				c.send(fxpStat, func(w *writer) { w.string(path) }, false)
			}
		}
		sent <- ids
	}()
	for i, r := range reads {
		typ, body := c.recv()
		if i == 31 {
			if typ != fxpAttrs {
				t.Fatalf("reply %d: got type %d, want the STAT's ATTRS", i, typ)
			}
			typ, body = c.recv()
		}
		body.uint32() // the id: replies come in request order
		want := content[min(r.off, len(content)):min(r.off+int(min(r.size, maxReadWrite)), len(content))]
		if len(want) == 0 {
			if code := body.uint32(); typ != fxpStatus || code != fxEOF {
				t.Errorf("read %d at %d of %d bytes: got type %d, want EOF", i, r.off, r.size, typ)
			}
			continue
		}
		if got := body.bytes(); typ != fxpData || !bytes.Equal(got, want) {
			t.Errorf("read %d at %d of %d bytes: got type %d with %d bytes, want DATA with the file's %d bytes there",
				i, r.off, r.size, typ, len(got), len(want))
		}
	}
	<-sent
}
