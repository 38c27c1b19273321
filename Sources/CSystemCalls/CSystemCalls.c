#define _GNU_SOURCE
#include "CSystemCalls.h"

#include <dlfcn.h>
#include <sched.h>
#include <errno.h>
#include <pty.h>
#include <seccomp.h>
#include <spawn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>

int hma_openat2(int dirfd, const char *path, int flags, unsigned int mode, unsigned long long resolve) {
    struct open_how how = { .flags = (unsigned long long)flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int hma_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

const int hma_o_path = O_PATH;

int hma_write_seccomp_filter(int fd) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL) return -ENOMEM;
    int rc = 0;
    const int denied[] = {
        SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
        SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(unshare), SCMP_SYS(setns),
        SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
        SCMP_SYS(kexec_load), SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
        SCMP_SYS(userfaultfd), SCMP_SYS(kexec_file_load),
        // The new mount API mounts without mount(2).
        SCMP_SYS(fsopen), SCMP_SYS(fsconfig), SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(move_mount),
        SCMP_SYS(open_tree), SCMP_SYS(mount_setattr),
        // io_uring performs system calls the filter never sees.
        SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
    };
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]) && rc == 0; i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
    }
    // clone with any new-namespace flag (a new user namespace would hold
    // every capability inside it). clone3 passes its flags in memory the
    // filter cannot read: ENOSYS makes the C library fall back to clone.
    const unsigned long namespaces[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
                                         CLONE_NEWNET, CLONE_NEWCGROUP, 0x00000080UL /* CLONE_NEWTIME */ };
    for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]) && rc == 0; i++) {
        // One rule per flag (rules for one call are alternatives): EPERM when that bit is set.
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, namespaces[i], namespaces[i]));
    }
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    // Only the low 32 bits of the request are compared (the kernel ignores the rest).
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, TIOCSTI));
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, TIOCLINUX));
    if (rc == 0) rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    return rc;
}

int hma_spawn_in_pty(const char *path, char *const argv[], char *const envp[],
                     unsigned short rows, unsigned short cols, int *master, int *pid) {
    struct winsize size = { .ws_row = rows, .ws_col = cols };
    int fd = -1;
    pid_t child = forkpty(&fd, NULL, NULL, &size);
    if (child < 0) return -errno;
    if (child == 0) {
        // Only async-signal-safe calls between fork and exec.
        sigset_t none;
        sigemptyset(&none);
        for (int signal = 1; signal < NSIG; signal++) {
            struct sigaction action = { .sa_handler = SIG_DFL };
            sigaction(signal, &action, NULL);
        }
        sigprocmask(SIG_SETMASK, &none, NULL);
        // Nothing of the server's (sockets, other children's pipes) leaks in.
        if (syscall(SYS_close_range, 3, ~0U, 0) != 0) {
            for (int descriptor = 3; descriptor < 65536; descriptor++) close(descriptor);
        }
        execve(path, argv, envp);
        _exit(127);
    }
    // As soon as possible: a fork on another thread must not inherit the master.
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    *master = fd;
    *pid = child;
    return 0;
}

int hma_set_window_size(int fd, unsigned short rows, unsigned short cols) {
    struct winsize size = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &size) == 0 ? 0 : -errno;
}

int hma_spawn(const char *path, char *const argv[], char *const envp[], int input_fd, int output_fd, int error_fd, int *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawn_file_actions_init(&actions);
    if (input_fd < 0) {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    } else {
        posix_spawn_file_actions_adddup2(&actions, input_fd, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, output_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, error_fd, 2);
    // Nothing of the server's (sockets, other children's pipes) leaks in.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
    pid_t child = 0;
    int rc = posix_spawn(&child, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) return -rc;
    *pid = child;
    return 0;
}

const char *hma_shared_object_of(const void *address) {
    Dl_info info;
    return dladdr(address, &info) != 0 ? info.dli_fname : NULL;
}

int hma_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}
