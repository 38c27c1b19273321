#ifndef HMA_CGIT2_SHIM_H
#define HMA_CGIT2_SHIM_H
#include <git2.h>
#endif
