#ifndef HMA_CGIT2_SHIM_H
#define HMA_CGIT2_SHIM_H
#include <git2.h>

/// git_libgit2_opts is variadic (Swift cannot call it): trust the CA
/// certificates in `file` (PEM) for HTTPS, in addition to none else.
static inline int hma_git_set_ssl_cert_file(const char *file) {
    return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, (const char *)0);
}

/// Sets where libgit2 looks for the system, global (~/.gitconfig) or XDG
/// configuration of `level` (a git_config_level_t); "" means nowhere.
static inline int hma_git_set_search_path(int level, const char *path) {
    return git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, path);
}

/// Turns libgit2's check that the repository belongs to the current user
/// on (1) or off (0).
static inline int hma_git_set_owner_validation(int enabled) {
    return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, enabled);
}
#endif
