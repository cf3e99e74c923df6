/*
 * check.h: the self-checking kit of the conformance programs.
 *
 * Every program in testprogs/ runs twice, on the host Linux and in Villa,
 * and the harness compares the two transcripts byte for byte. So a check
 * prints one line that depends only on what is being checked: "ok - what:
 * -1 EBADF" or "FAIL - what: got ..., expected ...". Values that differ
 * between machines (addresses, pids, times) are compared in the program
 * and never printed on success. check_finish() prints the tally, "N
 * passed, N failed", and gives the exit status: 0 only when every check
 * passed.
 *
 * The checks: CHECK(what, condition); CHECK_EQ(what, actual, expected)
 * and CHECK_STR / CHECK_MEM for values; and for calls, CHECK_ERR(what,
 * call, E) wants -1 with errno E, CHECK_RET(what, call, N) wants exactly
 * N with errno untouched, CHECK_OK(what, call) wants anything but -1.
 *
 * Output goes straight to descriptor 1 with write(2), never through
 * stdio: no buffer to flush before a fault, no malloc behind the
 * program's back (the brk checks move the break by hand), and stdout and
 * stderr lines keep their order.
 *
 * The checks of system calls test both halves of the contract: the
 * return value and errno. errno is cleared before each call, so a check
 * of a success also catches a call that succeeded but left errno set.
 */
#ifndef VILLA_CHECK_H
#define VILLA_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * The bytes the harness gives every program on standard input, through
 * a pipe on the host and the boot bundle in Villa. The harness
 * (Tests/VillaTests/ConformanceTests.swift) holds the same text.
 */
#define CHECK_STDIN_TEXT \
    "stdin line one\nstdin line two\nthe last line, without a newline"

/* The arguments after argv[0] and the environment, likewise. */
#define CHECK_ARGUMENTS {"alpha", "two words", "", "--flag=x"}
#define CHECK_ENVIRONMENT {"VILLA_TEST=1", "TZ=UTC"}

static int check_passes;
static int check_failures;

/* Writes all of `length` bytes to `fd`, retrying short writes. */
static inline void check_write_all(int fd, const char *text, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, text, length);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return;
        }
        text += n;
        length -= (size_t)n;
    }
}

/* printf to descriptor 1, one write per call. */
__attribute__((format(printf, 1, 2)))
static inline void say(const char *format, ...)
{
    char line[1024];
    va_list list;
    va_start(list, format);
    int length = vsnprintf(line, sizeof line, format, list);
    va_end(list);
    if (length < 0)
        return;
    if ((size_t)length >= sizeof line)
        length = sizeof line - 1;
    check_write_all(1, line, (size_t)length);
}

/* A section heading in the transcript. */
#define SECTION(name) say("# %s\n", name)

/*
 * errno's symbolic name. The table is ours, not strerror's, so that glibc
 * and musl programs print the same words.
 */
static inline const char *errno_name(int code)
{
    switch (code) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EMLINK: return "EMLINK";
    case EPIPE: return "EPIPE";
    case EDOM: return "EDOM";
    case ERANGE: return "ERANGE";
    case EDEADLK: return "EDEADLK";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    case ENOTSOCK: return "ENOTSOCK";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EOVERFLOW: return "EOVERFLOW";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINPROGRESS: return "EINPROGRESS";
    case EALREADY: return "EALREADY";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRINUSE: return "EADDRINUSE";
    case ECANCELED: return "ECANCELED";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETUNREACH: return "ENETUNREACH";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNRESET: return "ECONNRESET";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    default: {
        static char unknown[24];
        snprintf(unknown, sizeof unknown, "errno %d", code);
        return unknown;
    }
    }
}

static inline void check_pass(const char *what, const char *detail)
{
    check_passes++;
    if (detail && *detail)
        say("ok - %s: %s\n", what, detail);
    else
        say("ok - %s\n", what);
}

__attribute__((format(printf, 2, 3)))
static inline void check_fail(const char *what, const char *format, ...)
{
    char detail[512];
    va_list list;
    va_start(list, format);
    vsnprintf(detail, sizeof detail, format, list);
    va_end(list);
    check_failures++;
    say("FAIL - %s: %s\n", what, detail);
}

/* A condition; `text` is its source, shown when it fails. */
static inline void check_true(const char *what, int condition,
                              const char *text)
{
    if (condition)
        check_pass(what, NULL);
    else
        check_fail(what, "false: %s", text);
}

/* A call that must fail with -1 and errno `expected`. */
static inline void check_error(const char *what, long result, int error,
                               int expected)
{
    if (result == -1 && error == expected) {
        char detail[64];
        snprintf(detail, sizeof detail, "-1 %s", errno_name(expected));
        check_pass(what, detail);
    } else {
        check_fail(what, "got %ld (errno %s), expected -1 %s", result,
                   errno_name(error), errno_name(expected));
    }
}

/* A call that must return exactly `expected` and leave errno alone. */
static inline void check_result(const char *what, long result, int error,
                                long expected)
{
    if (result == expected && error == 0) {
        char detail[32];
        snprintf(detail, sizeof detail, "%ld", expected);
        check_pass(what, detail);
    } else {
        check_fail(what, "got %ld (errno %s), expected %ld", result,
                   errno_name(error), expected);
    }
}

/* A call that must succeed (not -1, errno untouched); value not shown. */
static inline void check_success(const char *what, long result, int error)
{
    if (result != -1 && error == 0)
        check_pass(what, NULL);
    else
        check_fail(what, "got %ld (errno %s), expected success", result,
                   errno_name(error));
}

static inline void check_equal(const char *what, long long actual,
                               long long expected)
{
    if (actual == expected)
        check_pass(what, NULL);
    else
        check_fail(what, "got %lld, expected %lld", actual, expected);
}

/* Copies `text` into `out` with C escapes for what would break a line. */
static inline void check_escape(char *out, size_t size, const char *text)
{
    size_t used = 0;
    for (; *text && used + 5 < size; text++) {
        unsigned char c = (unsigned char)*text;
        if (c == '\n') {
            out[used++] = '\\';
            out[used++] = 'n';
        } else if (c == '"' || c == '\\') {
            out[used++] = '\\';
            out[used++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            used += (size_t)snprintf(out + used, size - used, "\\x%02x", c);
        } else {
            out[used++] = (char)c;
        }
    }
    out[used] = 0;
}

static inline void check_string(const char *what, const char *actual,
                                const char *expected)
{
    char shown[160], got[160];
    check_escape(shown, sizeof shown, expected);
    if (actual && strcmp(actual, expected) == 0) {
        char detail[168];
        snprintf(detail, sizeof detail, "\"%s\"", shown);
        check_pass(what, detail);
    } else {
        check_escape(got, sizeof got, actual ? actual : "(null)");
        check_fail(what, "got \"%s\", expected \"%s\"", got, shown);
    }
}

/* Bytes compared; `length` is deterministic and shown. */
static inline void check_bytes(const char *what, const void *actual,
                               const void *expected, size_t length)
{
    if (memcmp(actual, expected, length) == 0) {
        char detail[32];
        snprintf(detail, sizeof detail, "%zu bytes", length);
        check_pass(what, detail);
    } else {
        size_t at = 0;
        while (((const unsigned char *)actual)[at] ==
               ((const unsigned char *)expected)[at])
            at++;
        check_fail(what, "differ at byte %zu of %zu", at, length);
    }
}

/* Prints the tally and gives the exit status. */
static inline int check_finish(void)
{
    say("%d passed, %d failed\n", check_passes, check_failures);
    return check_failures == 0 && check_passes > 0 ? 0 : 1;
}

/*
 * A value the compiler cannot see through. Error checks pass bad
 * pointers and counts on purpose; hidden this way, they do not trip the
 * compiler's own checks of buffer sizes (-Wstringop-overflow).
 */
static inline long check_opaque(long value)
{
    volatile long copy = value;
    return copy;
}
#define OPAQUE(value) check_opaque((long)(value))

/* An address that is never mapped (the first page), and a kernel one. */
#define BAD_POINTER ((void *)OPAQUE(8))
#define KERNEL_POINTER ((void *)OPAQUE(0xffffffff81000000ul))

/* Runs a call with errno cleared, so its errno is its own. */
#define CHECK_CALL_(call, result, error) \
    long result; int error; \
    do { errno = 0; result = (long)(call); error = errno; } while (0)

#define CHECK(what, condition) check_true(what, (condition) != 0, #condition)

#define CHECK_ERR(what, call, expected) do { \
        CHECK_CALL_(call, check_r_, check_e_); \
        check_error(what, check_r_, check_e_, expected); \
    } while (0)

#define CHECK_RET(what, call, expected) do { \
        CHECK_CALL_(call, check_r_, check_e_); \
        check_result(what, check_r_, check_e_, (long)(expected)); \
    } while (0)

#define CHECK_OK(what, call) do { \
        CHECK_CALL_(call, check_r_, check_e_); \
        check_success(what, check_r_, check_e_); \
    } while (0)

#define CHECK_EQ(what, actual, expected) \
    check_equal(what, (long long)(actual), (long long)(expected))

#define CHECK_STR(what, actual, expected) check_string(what, actual, expected)

#define CHECK_MEM(what, actual, expected, length) \
    check_bytes(what, actual, expected, length)

#endif
