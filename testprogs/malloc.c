/*
 * malloc: the C library's allocator on top of brk(2), mmap(2), munmap(2)
 * and mremap(2) where it uses it. Small and large blocks (large ones are
 * mmapped), calloc's zeroing, realloc that grows and moves, posix_memalign
 * and aligned_alloc alignment, and many allocations freed and made again.
 * Every block is filled with a pattern and checked, so that overlapping
 * or lost memory shows.
 */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 31 + i * 7);
}

static int holds(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 31 + i * 7))
            return 0;
    return 1;
}

int main(void)
{
    SECTION("sizes");
    static const size_t sizes[] = {1, 24, 100, 4096, 65536, 200000,
                                   1 << 20, 8 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char what[64];
        unsigned char *p = malloc(sizes[i]);
        snprintf(what, sizeof what, "malloc(%zu)", sizes[i]);
        CHECK(what, p != NULL);
        if (!p)
            continue;
        fill(p, sizes[i], (unsigned)i);
        snprintf(what, sizeof what, "a block of %zu keeps its pattern",
                 sizes[i]);
        CHECK(what, holds(p, sizes[i], (unsigned)i));
        snprintf(what, sizeof what, "a block of %zu is 16-byte aligned",
                 sizes[i]);
        CHECK_EQ(what, (uintptr_t)p % 16, 0);
        free(p);
    }

    SECTION("calloc");
    for (int round = 0; round < 3; round++) {
        unsigned char *dirty = malloc(300000);
        memset(dirty, 0xEE, 300000);
        free(dirty);
        unsigned char *small = malloc(1000);
        memset(small, 0xEE, 1000);
        free(small);
    }
    unsigned char *big = calloc(300000, 1);
    unsigned char *small = calloc(100, 10);
    int zero = big && small;
    for (size_t i = 0; zero && i < 300000; i++)
        if (big[i])
            zero = 0;
    for (size_t i = 0; zero && i < 1000; i++)
        if (small[i])
            zero = 0;
    CHECK("calloc memory is zero after dirty frees", zero);
    free(big);
    free(small);
    errno = 0;
    CHECK("calloc that overflows size_t fails",
          calloc((size_t)OPAQUE(SIZE_MAX / 2), 4) == NULL && errno == ENOMEM);

    SECTION("realloc");
    unsigned char *p = malloc(16);
    fill(p, 16, 5);
    size_t size = 16;
    int kept = 1;
    while (size < (16u << 20)) {
        size_t next = size * 4;
        unsigned char *q = realloc(p, next);
        if (!q) {
            kept = 0;
            break;
        }
        if (!holds(q, 16, 5))
            kept = 0;
        p = q;
        size = next;
    }
    CHECK("realloc from 16 B to 16 MiB keeps the head", kept);
    p = realloc(p, 10);
    CHECK("realloc down to 10 keeps the head", p && holds(p, 10, 5));
    free(p);

    SECTION("alignment");
    void *aligned = NULL;
    CHECK_RET("posix_memalign(4096)", posix_memalign(&aligned, 4096, 5000), 0);
    CHECK_EQ("the block is page aligned", (uintptr_t)aligned % 4096, 0);
    free(aligned);
    CHECK_RET("posix_memalign with a bad alignment",
              posix_memalign(&aligned, 24, 100), EINVAL);
    void *a64 = aligned_alloc(64, 640);
    CHECK("aligned_alloc(64)", a64 && (uintptr_t)a64 % 64 == 0);
    free(a64);

    SECTION("churn");
    enum { SLOTS = 512 };
    static unsigned char *slots[SLOTS];
    static size_t lengths[SLOTS];
    unsigned state = 12345;
    int intact = 1;
    for (int round = 0; round < 20000; round++) {
        state = state * 1103515245u + 12345u;
        int slot = (int)((state >> 8) % SLOTS);
        if (slots[slot]) {
            if (!holds(slots[slot], lengths[slot], (unsigned)slot))
                intact = 0;
            free(slots[slot]);
            slots[slot] = NULL;
        } else {
            size_t length = ((state >> 16) % 3 == 0) ? (state >> 4) % 150000
                                                     : (state >> 4) % 600;
            slots[slot] = malloc(length + 1);
            lengths[slot] = length + 1;
            if (!slots[slot])
                intact = 0;
            else
                fill(slots[slot], length + 1, (unsigned)slot);
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i] && !holds(slots[i], lengths[i], (unsigned)i))
            intact = 0;
        free(slots[i]);
    }
    CHECK("20000 mallocs and frees never overlap", intact);
    errno = 0;
    CHECK("malloc of 2^62 bytes fails with ENOMEM",
          malloc((size_t)OPAQUE(1ul << 62)) == NULL && errno == ENOMEM);
    return check_finish();
}
