package account

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// maxDatabaseBytes bounds how much of /etc/passwd and /etc/group is read; both are
// small files, and a huge one is a misconfiguration we refuse to slurp.
const maxDatabaseBytes = 16 << 20

// eachLine calls fn with the colon-separated fields of each line of a
// passwd-style file until fn returns false.
func eachLine(path string, fn func(fields []string) bool) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("read user database: %w: it must be readable by everyone (chmod 644 %s)", err, path)
	}
	if err != nil {
		return fmt.Errorf("read user database: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxDatabaseBytes))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if !fn(strings.Split(line, ":")) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read user database %s: %w", path, err)
	}
	return nil
}

// IDNames maps the ids of a passwd-style file (/etc/passwd or /etc/group: the third
// column) to their names (the first), the first entry winning, as getpwuid does; the
// SFTP server shows them in `ls -l` style long names. A missing or unreadable file gives
// no names (long names then show numbers, as ls does), and a file it cannot read to the
// end gives the names before the problem.
func IDNames(path string) map[uint32]string {
	names := map[uint32]string{}
	_ = eachLine(path, func(fields []string) bool { // best effort, see above
		if len(fields) < 3 {
			return true
		}
		if id, err := strconv.ParseUint(fields[2], 10, 32); err == nil {
			if _, dup := names[uint32(id)]; !dup {
				names[uint32(id)] = fields[0]
			}
		}
		return true
	})
	return names
}

// GroupID returns the gid of the group named name in /etc/group; ok is false when the
// file has no such group or cannot be read.
func GroupID(name string) (gid uint32, ok bool) {
	_ = eachLine("/etc/group", func(fields []string) bool { // unreadable: not found
		if len(fields) >= 3 && fields[0] == name {
			if g, err := strconv.ParseUint(fields[2], 10, 32); err == nil {
				gid, ok = uint32(g), true
			}
			return false
		}
		return true
	})
	return gid, ok
}
