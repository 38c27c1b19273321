// Counts heap allocations for `make bench-mesh` (allocations per call).
// Defining malloc and friends in the executable interposes them for the
// whole process (the Swift runtime, Foundation, NIO); each forwards to
// glibc's own implementation, so free() stays glibc's and nothing else
// changes but one relaxed atomic increment per allocation.
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include "AllocationCounter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static _Atomic unsigned long long allocations;

static inline void counted(void) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); }

void *malloc(size_t size) { counted(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { counted(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { counted(); return __libc_realloc(pointer, size); }
void *aligned_alloc(size_t alignment, size_t size) { counted(); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    counted();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = pointer;
    return 0;
}

unsigned long long hma_allocation_count(void) { return atomic_load_explicit(&allocations, memory_order_relaxed); }
