/*
 * hello: the smallest end-to-end check. Prints through stdio to stdout
 * and stderr (so the C library's buffering and the flush at exit are
 * exercised) and exits with status 3, which must reach the host as is.
 *
 * expect-status: 3
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    SECTION("hello");
    CHECK_RET("write a line to stdout", write(1, "hello, stdout\n", 14), 14);
    CHECK_RET("write a line to stderr", write(2, "hello, stderr\n", 14), 14);
    CHECK_RET("printf returns its length", printf("printf %d\n", 42), 10);
    CHECK_RET("fflush(stdout)", fflush(stdout), 0);
    CHECK_RET("fprintf to stderr", fprintf(stderr, "stderr %s\n", "too"), 11);
    /* puts promises only a non-negative number on success. */
    CHECK("puts succeeds", puts("buffered until exit") >= 0);

    int status = check_finish();
    /* The tally goes out first; the buffered puts line is flushed by
     * exit(), so it follows the tally on stdout. */
    exit(status == 0 ? 3 : 1);
}
