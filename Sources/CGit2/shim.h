#ifndef HMA_CGIT2_SHIM_H
#define HMA_CGIT2_SHIM_H
#include <git2.h>

/// git_libgit2_opts is variadic (Swift cannot call it): trust the CA
/// certificates in `file` (PEM) for HTTPS, in addition to none else.
static inline int hma_git_set_ssl_cert_file(const char *file) {
    return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, (const char *)0);
}
#endif
