package keys

import (
	"io/fs"
	"syscall"
	"time"
)

// fileStamp identifies one version of a file: any write changes its size or mtime,
// any chmod, chown or rename onto it its ctime, and a replacement its inode.
type fileStamp struct {
	dev, ino     uint64
	size         int64
	mtime, ctime syscall.Timespec
}

// stampOf returns fi's stamp; ok is false when fi carries no stat_t.
func stampOf(fi fs.FileInfo) (s fileStamp, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStamp{}, false
	}
	return fileStamp{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size, mtime: st.Mtim, ctime: st.Ctim}, true
}

// settled reports whether the file last changed over a second before now, so that a
// later change is bound to move its mtime or ctime to a different clock tick.
func (s fileStamp) settled(now time.Time) bool {
	changed := time.Unix(s.ctime.Unix())
	if m := time.Unix(s.mtime.Unix()); m.After(changed) {
		changed = m
	}
	return now.Sub(changed) > time.Second
}
