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
#define HMA_RESOLVE_NO_SYMLINKS RESOLVE_NO_SYMLINKS


/// Writes a seccomp BPF program to `fd` (for `bwrap --seccomp FD`): every
/// system call is allowed except, with EPERM, ioctl(TIOCSTI) and
/// ioctl(TIOCLINUX) (typing into a terminal), ptrace, process_vm_readv/
/// writev, mount, umount2, pivot_root, unshare, setns, clone with any
/// new-namespace flag, the new mount API (fsopen, fsconfig, fsmount,
/// fspick, move_mount, open_tree, mount_setattr), io_uring_setup/enter/
/// register, keyctl, add_key, request_key, bpf, perf_event_open,
/// kexec_load, kexec_file_load, init_module, finit_module, delete_module,
/// userfaultfd; and clone3 with ENOSYS (its flags cannot be inspected; the
/// C library then falls back to clone). Returns 0 or -errno.
int hma_write_seccomp_filter(int fd);

/// forkpty + execve in the child (no Swift code runs after fork): starts
/// `path` with `argv`/`envp` on a new pseudo-terminal of rows×cols, as
/// session leader with it as the controlling terminal. Stores the master
/// fd and the child's pid. The child inherits no other descriptor and
/// starts with default signal handling. Returns 0 or -errno.
int hma_spawn_in_pty(const char *path, char *const argv[], char *const envp[],
                     unsigned short rows, unsigned short cols, int *master, int *pid);

/// posix_spawn of `path` in a new session, every signal back to its
/// default action and unblocked (a parent that ignores SIGTERM must not
/// make its children immune), standard input from `input_fd` (/dev/null
/// when negative), standard output to `output_fd` and standard error to
/// `error_fd` (may be the same), no other descriptor inherited. Stores the
/// pid. Returns 0 or -errno.
int hma_spawn(const char *path, char *const argv[], char *const envp[], int input_fd, int output_fd, int error_fd, int *pid);

/// TIOCSWINSZ on a pty master. Returns 0 or -errno.
int hma_set_window_size(int fd, unsigned short rows, unsigned short cols);

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start. Returns 0 or -1 with errno.
int hma_pipe_cloexec(int fds[2]);

/// The file of the shared object that holds `address` (dladdr), or NULL.
const char *hma_shared_object_of(const void *address);

#endif
