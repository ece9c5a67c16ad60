// What a random cache line costs on this machine when it was prefetched long before it is used: the question
// behind the engine's batch (RiskEngine+Batch.swift), asked without the engine.
//
// Random 64-byte lines of a MiB-sized, huge-page-advised block are read in batches of 16: first the 16
// addresses are computed and (mode 1) prefetched or (mode 2) loaded, then each line is read followed by `work`
// rounds of dependent ALU work (≈ 2 ns a round here), so a prefetch has the whole batch's work (≥ 3 µs at
// work 100) to arrive. Mode 0 prefetches nothing. Prints ns per item; the same run over a 4 MiB block (cache
// resident) is the cost of the work alone.
//
//   cc -O1 -o /tmp/prefetch-cost scripts/prefetch-cost.c
//   for mib in 4 64 1024; do for mode in 0 1 2; do /tmp/prefetch-cost $mib 100 $mode; done; done
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static inline uint64_t work_rounds(uint64_t x, int rounds) {
    for (int i = 0; i < rounds; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        x ^= x >> 29;
    }
    return x;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: prefetch-cost MIB WORK MODE (0 nothing ahead, 1 prefetch ahead, 2 load ahead)\n");
        return 2;
    }
    size_t bytes = (size_t)atol(argv[1]) << 20;
    int work = atoi(argv[2]), mode = atoi(argv[3]);
    const size_t huge = 2u << 20, batch = 16, items = 1000000;
    char *raw = mmap(NULL, bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    char *block = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    madvise(block, bytes, MADV_HUGEPAGE);
    memset(block, 1, bytes);
    size_t lines = bytes / 64;
    uint64_t state = 88172645463325252ULL, sink = 0, offsets[16];
    double start = now();
    for (size_t item = 0; item < items; item += batch) {
        for (size_t k = 0; k < batch; k++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            offsets[k] = (state % lines) * 64;
            if (mode == 1) __builtin_prefetch(block + offsets[k]);
            if (mode == 2) sink += (unsigned char)block[offsets[k]];
        }
        for (size_t k = 0; k < batch; k++) {
            sink = work_rounds(sink + (unsigned char)block[offsets[k]] + k, work);
            __asm__ volatile("" : : "r"(sink));
        }
    }
    printf("MiB=%zu work=%d mode=%d: %.1f ns per item (%d)\n", bytes >> 20, work, mode,
           (now() - start) / items * 1e9, (int)(sink & 1));
    return 0;
}
