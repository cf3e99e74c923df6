/*
 * libc-stdio: the C library's buffered streams over the standard
 * descriptors. stdin is read with fgets, getc and fread (it holds
 * CHECK_STDIN_TEXT); stdout is fully buffered on a pipe, so its lines
 * appear when flushed; stderr is unbuffered. The buffering a C library
 * picks depends on what fstat and isatty report, so this program sees
 * whether the kernel describes the descriptors as Linux does.
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    SECTION("reading stdin");
    char line[128];
    CHECK("fgets reads the first line",
          fgets(line, sizeof line, stdin) != NULL);
    CHECK_STR("the first line", line, "stdin line one\n");
    CHECK_EQ("getc reads the next byte", getc(stdin), 's');
    CHECK_EQ("ungetc pushes it back", ungetc('s', stdin), 's');
    CHECK("fgets reads the second line",
          fgets(line, sizeof line, stdin) != NULL);
    CHECK_STR("the second line", line, "stdin line two\n");
    char rest[128] = {0};
    size_t n = fread(rest, 1, sizeof rest - 1, stdin);
    CHECK_EQ("fread reads the unterminated last line", n, 32);
    CHECK_STR("the last line", rest, "the last line, without a newline");
    CHECK("then feof is set", feof(stdin));
    CHECK_EQ("getc at end of file", getc(stdin), EOF);
    clearerr(stdin);
    CHECK("clearerr clears it", !feof(stdin));

    SECTION("writing stdout");
    /* Fully buffered: these lines reach the pipe at the fflush below,
     * after the ok lines check.h writes directly. */
    CHECK_RET("printf into the buffer", printf("buffered %s\n", "line"), 14);
    /* fputs promises only a non-negative number on success. */
    CHECK("fputs into the buffer",
          fputs("second buffered line\n", stdout) >= 0);
    CHECK_RET("fflush(stdout)", fflush(stdout), 0);
    CHECK_RET("fprintf(stderr) goes out at once",
              fprintf(stderr, "unbuffered %d\n", 7), 13);
    CHECK_RET("setvbuf(stdout, line buffered)",
              setvbuf(stdout, NULL, _IOLBF, 0), 0);
    CHECK_RET("a line-buffered printf", printf("line mode\n"), 10);
    CHECK_RET("fwrite of 3 records", fwrite("abcdef", 2, 3, stdout), 3);
    CHECK_RET("putchar", putchar('\n'), '\n');
    /* More than a stdio buffer holds: 64 lines of 80 bytes. */
    char big[64 * 80 + 1];
    for (int i = 0; i < 64; i++) {
        memset(big + i * 80, '-', 79);
        big[i * 80 + 79] = '\n';
        big[i * 80] = (char)('0' + i / 10);
        big[i * 80 + 1] = (char)('0' + i % 10);
    }
    big[64 * 80] = 0;
    CHECK_RET("a 5120-byte printf", printf("%s", big), 64 * 80);
    CHECK_RET("fflush(NULL)", fflush(NULL), 0);
    CHECK("ferror(stdout) is clear", !ferror(stdout));
    return check_finish();
}
