#include "CFraudMemory.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

int CFraudMemory_adviseHugePages(void *start, size_t length, int collapse) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t page = 4096;
    uintptr_t first = ((uintptr_t)start + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)start + length) & ~(page - 1);
    if (end <= first) {
        return 0;
    }
    // EINVAL: THP not built in or the range is not anonymous memory; ENOMEM: not mapped. Either way the
    // memory is unaffected, so the caller only counts failures.
    if (madvise((void *)first, end - first, MADV_HUGEPAGE) != 0) {
        return errno;
    }
    if (collapse && madvise((void *)first, end - first, MADV_COLLAPSE) != 0) {
        return errno;
    }
    return 0;
#else
    (void)start;
    (void)length;
    (void)collapse;
    return ENOSYS;
#endif
}

enum { CFraudMemory_hugePage = 2 << 20 };

void *CFraudMemory_allocateZeroed(size_t bytes) {
    if (bytes < CFraudMemory_hugePage) {
        // Cache-line aligned, so that 64-byte elements never straddle two lines.
        size_t rounded = (bytes + 63) & ~(size_t)63;
        void *memory = aligned_alloc(64, rounded == 0 ? 64 : rounded);
        if (memory != NULL) {
            memset(memory, 0, rounded == 0 ? 64 : rounded);
        }
        return memory;
    }
    size_t rounded = (bytes + CFraudMemory_hugePage - 1) & ~((size_t)CFraudMemory_hugePage - 1);
    // Map one huge page more than needed and trim both ends, so that the block starts on a 2 MiB boundary.
    size_t mapped = rounded + CFraudMemory_hugePage;
    char *raw = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        return NULL;
    }
    uintptr_t aligned = ((uintptr_t)raw + CFraudMemory_hugePage - 1) & ~((uintptr_t)CFraudMemory_hugePage - 1);
    size_t head = aligned - (uintptr_t)raw;
    if (head > 0) {
        munmap(raw, head);
    }
    size_t tail = mapped - head - rounded;
    if (tail > 0) {
        munmap((char *)aligned + rounded, tail);
    }
#ifdef MADV_HUGEPAGE
    (void)madvise((void *)aligned, rounded, MADV_HUGEPAGE);  // advice: EINVAL without THP changes nothing
#endif
    return (void *)aligned;
}

void CFraudMemory_deallocate(void *memory, size_t bytes) {
    if (memory == NULL) {
        return;
    }
    if (bytes < CFraudMemory_hugePage) {
        free(memory);
        return;
    }
    size_t rounded = (bytes + CFraudMemory_hugePage - 1) & ~((size_t)CFraudMemory_hugePage - 1);
    munmap(memory, rounded);
}
