#ifndef CFRAUDMEMORY_H
#define CFRAUDMEMORY_H

#include <stddef.h>

/// Hints the CPU to load the cache line holding `address` for reading (no effect on correctness; an
/// invalid address does not fault).
static inline void CFraudMemory_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Hints the CPU to load the cache line holding `address` for writing.
static inline void CFraudMemory_prefetchForWriting(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Asks the kernel to back the whole 4 KiB pages inside [start, start + length) with transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`): pages touched afterwards come as 2 MiB pages where the range allows. When
/// `collapse` is non-zero, pages already present are also collapsed now (`MADV_COLLAPSE`, Linux 6.1+).
/// Returns 0 on success, else the errno of the first call that failed (EINVAL where THP is unavailable):
/// advice only, the memory works the same either way.
int CFraudMemory_adviseHugePages(void *start, size_t length, int collapse);

/// `bytes` of zeroed memory. From 2 MiB up it is its own anonymous mapping, aligned to 2 MiB and advised to
/// use transparent huge pages (its pages are faulted in only when touched); below that it comes from
/// `aligned_alloc`, aligned to a 64-byte cache line. Returns NULL when out of memory. Free it with ``CFraudMemory_deallocate`` and the same size.
void *CFraudMemory_allocateZeroed(size_t bytes);

/// Frees memory from ``CFraudMemory_allocateZeroed`` (`bytes` as given there).
void CFraudMemory_deallocate(void *memory, size_t bytes);

#endif
