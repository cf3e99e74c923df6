/*
 * tls: thread-local storage of the main thread, which the kernel's
 * loader sets up from PT_TLS through the C library: initialised
 * variables (.tdata) start with their values, the others (.tbss) start at
 * zero, alignment requests are honoured, and each variable has its own
 * storage apart from the initial image.
 */
#include "check.h"

#include <stdint.h>

static __thread int counter = 41;
static __thread char greeting[16] = "tls hello";
static __thread long zeroed[64];
static __thread _Alignas(64) unsigned char aligned64[64] = {1, 2, 3};
static __thread _Alignas(4096) unsigned char aligned_page[8];
__thread double shared_double = 2.5;

int main(void)
{
    SECTION("initial values");
    CHECK_EQ("an initialised int", counter, 41);
    CHECK_STR("an initialised char array", greeting, "tls hello");
    CHECK("a double", shared_double == 2.5);
    int all_zero = 1;
    for (int i = 0; i < 64; i++)
        if (zeroed[i] != 0)
            all_zero = 0;
    CHECK("a .tbss array starts at zero", all_zero);
    CHECK_EQ("the tail of an initialised array is zero", aligned64[63], 0);
    CHECK_EQ("its head is initialised", aligned64[2], 3);

    SECTION("alignment");
    CHECK_EQ("a 64-byte aligned variable", (uintptr_t)aligned64 % 64, 0);
    CHECK_EQ("a page-aligned variable", (uintptr_t)aligned_page % 4096, 0);
    CHECK_EQ("an int is aligned", (uintptr_t)&counter % sizeof counter, 0);

    SECTION("writes");
    counter++;
    CHECK_EQ("an increment sticks", counter, 42);
    greeting[0] = 'T';
    CHECK_STR("a changed string", greeting, "Tls hello");
    for (int i = 0; i < 64; i++)
        zeroed[i] = i * 3;
    long sum = 0;
    for (int i = 0; i < 64; i++)
        sum += zeroed[i];
    CHECK_EQ("a .tbss array keeps what is written", sum, 3 * 63 * 64 / 2);
    aligned_page[7] = 9;
    CHECK_EQ("the page-aligned variable takes writes", aligned_page[7], 9);
    CHECK_EQ("variables do not overlap", counter, 42);
    CHECK_EQ("the head of the 64-aligned array is intact", aligned64[0], 1);
    return check_finish();
}
