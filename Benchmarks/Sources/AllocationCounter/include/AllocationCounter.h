#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/// Heap allocations made by this process so far (malloc, calloc, realloc,
/// posix_memalign, aligned_alloc), counted by the interposed functions in
/// allocation_counter.c. Linked into a benchmark only.
unsigned long long hma_allocation_count(void);

#endif
