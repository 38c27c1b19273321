// System calls Swift cannot reach directly (variadic `syscall`, Linux-only
// structures). Kept tiny: each function is one call, no logic.
#ifndef HMA_CSYSTEMCALLS_H
#define HMA_CSYSTEMCALLS_H

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

/// openat2(2): open `path` relative to `dirfd` with `resolve` restrictions
/// (RESOLVE_BENEATH keeps every step of the lookup, symlinks and `..`
/// included, inside `dirfd`). Returns the fd, or -1 with errno set.
int hma_openat2(int dirfd, const char *path, int flags, unsigned int mode, unsigned long long resolve);

/// renameat2(2) with flags (RENAME_NOREPLACE: fail if the target exists).
int hma_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

#define HMA_RENAME_NOREPLACE (1 << 0)

/// O_PATH (defined by fcntl.h only under _GNU_SOURCE).
extern const int hma_o_path;
#define HMA_RESOLVE_BENEATH RESOLVE_BENEATH
#define HMA_RESOLVE_NO_MAGICLINKS RESOLVE_NO_MAGICLINKS

#endif
