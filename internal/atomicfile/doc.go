// Package atomicfile writes a file so that a reader sees either what was there before
// or all of the new content, never half of it: the data goes to a temporary file in the
// same directory (created with O_EXCL|O_NOFOLLOW, so never an existing file or a
// symlink), its mode and owner are set through its descriptor (fchmod ignores the
// umask, fchown cannot be redirected), it is fsynced, and then linked or renamed to its
// name, and the directory is fsynced.
//
// The writers of jobsshd differ on purpose, and only in these ways:
//
//   - Create never replaces anything (the host keys, id_container and its derived
//     files when missing): link(2) fails when the name exists in any form, a dangling
//     symlink included. Replace and ReplacePath replace what is there (rename(2)).
//   - Create and Replace work in a directory opened as an *os.Root (the state
//     directory, the directory of id_container), so the directory the caller checked is
//     the one written in, whatever happens to its path meanwhile, and a symlink at the
//     name is replaced, never followed. ReplacePath takes a path and follows a symlink
//     at it, replacing the target: the ssh client files of job trust (~/.ssh/config in a
//     dotfiles checkout stays a link). Its caller runs as the account (asuser.Do), so
//     the kernel lets it reach only what the account may write anyway. It reaches the
//     directory through its path, as the writer it replaced did, so a directory the
//     account may write and search but not read (mode 0300) still works.
//   - Mode: Create and Replace set exactly mode. ReplacePath sets mode on a new file
//     and keeps an existing file's mode minus write permission for group and others,
//     which OpenSSH refuses ("Bad owner or permissions").
//   - Owner: Create and Replace chown the file through its descriptor when an Owner is
//     given (root writing id_container for the account); otherwise the file belongs to
//     the identity that creates it: root for the state directory's files, the account
//     for files written as the account.
//   - Filesystems without hard links (vfat, many FUSE mounts such as s3fs): Create
//     falls back to an O_EXCL create written in place, still never overwriting or
//     following, though a crash can leave a short file behind.
//   - A directory that cannot be fsynced (FUSE, 9p) is not an error: the file itself
//     is synced. ReplacePath syncs the directory only where it may read it, and never
//     fails on it.
package atomicfile
