/*
 * stack: the main thread's stack. Deep recursion and large frames use a
 * few MiB of it (within the 8 MiB that Linux grants by default), every
 * frame keeps its own data, and alloca and variable-length arrays work.
 */
#include "check.h"

#include <alloca.h>
#include <stdint.h>

static unsigned long depth_sum(unsigned depth)
{
    volatile unsigned char frame[256];
    frame[0] = (unsigned char)depth;
    frame[255] = (unsigned char)(depth >> 8);
    unsigned long below = depth ? depth_sum(depth - 1) : 0;
    return below + frame[0] + ((unsigned long)frame[255] << 8);
}

static int big_frame(size_t size)
{
    volatile unsigned char block[size];
    for (size_t i = 0; i < size; i += 4096)
        block[i] = (unsigned char)(i >> 12);
    block[size - 1] = 0x5A;
    int ok = block[size - 1] == 0x5A;
    for (size_t i = 0; i < size; i += 4096)
        if (block[i] != (unsigned char)(i >> 12))
            ok = 0;
    return ok;
}

int main(void)
{
    SECTION("recursion");
    /* About 300 bytes a frame: 10000 frames is about 3 MiB. */
    unsigned long expected = 0;
    for (unsigned i = 0; i <= 10000; i++)
        expected += (i & 0xff) + (((i >> 8) & 0xff) << 8);
    CHECK_EQ("10000 frames deep, every frame kept its data",
             depth_sum(10000), expected);
    CHECK_EQ("and again", depth_sum(10000), expected);

    SECTION("large frames");
    CHECK("a 1 MiB variable-length array", big_frame(1 << 20));
    CHECK("a 4 MiB variable-length array", big_frame(4 << 20));
    unsigned char *a = alloca(2 << 20);
    memset(a, 3, 2 << 20);
    CHECK_EQ("2 MiB from alloca", a[(2 << 20) - 1], 3);
    CHECK("the stack pointer is 16-byte aligned after alloca",
          ((uintptr_t)alloca(16) & 15) == 0);
    return check_finish();
}
