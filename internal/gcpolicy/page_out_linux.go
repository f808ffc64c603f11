package gcpolicy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pageOutExecutable asks the kernel to reclaim the pages of this program's own code and
// read-only data that are mapped now (madvise(2) MADV_PAGEOUT), and returns how many
// bytes of mappings it asked about.
//
// Those pages are most of an idle agent's RSS: of 10.5 MB after start, 8 MB were the
// binary's file pages (/proc/PID/smaps: 3.8 MB of a 4.4 MB text segment, 4 MB of its
// read-only data) against 2.5 MB anonymous. Start-up runs code that is not run again
// (flag parsing, host key creation, package initialisation), and the kernel maps 64 KiB
// around each page a fault brings in (mm/memory.c, fault_around_bytes), so a function
// called once keeps its neighbours resident too. After a page-out the idle agent faults
// back only what its idle work runs: 1.3 MB (BENCHMARKS.md, issue 14 memory and start).
// The kernel leaves alone pages another process maps too (the sftp children run the
// same binary; mm/madvise.c madvise_cold_or_pageout_pte_range skips pages mapped more
// than once), and pages out file pages only for a caller that owns the file or may
// write it (can_do_pageout): the agent run as a user over a root-owned binary gets
// nothing paged out, which is harmless.
func pageOutExecutable() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("page out: find the executable: %w", err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("page out: %w", err)
	}
	total := 0
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		start, end, ok := readOnlyMappingOf(sc.Bytes(), exe)
		if !ok {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_PAGEOUT); errno != 0 {
			return total, fmt.Errorf("page out: madvise %x-%x of %s: %w", start, end, exe, errno)
		}
		total += int(end - start)
	}
	return total, nil
}

// readOnlyMappingOf parses one line of /proc/self/maps ("start-end perms offset dev
// inode path") and reports the range when it maps path without write access.
func readOnlyMappingOf(line []byte, path string) (start, end uintptr, ok bool) {
	f := bytes.Fields(line)
	if len(f) != 6 || string(f[5]) != path || len(f[1]) < 2 || f[1][1] == 'w' {
		return 0, 0, false
	}
	lo, hi, found := bytes.Cut(f[0], []byte("-"))
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.ParseUint(string(lo), 16, 64)
	e, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, false
	}
	return uintptr(s), uintptr(e), true
}
