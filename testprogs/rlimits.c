/*
 * rlimits: resource limits with getrlimit(2), setrlimit(2) and
 * prlimit64(2). Values differ between machines, so the checks are round
 * trips and relations: what is set reads back, soft never exceeds hard,
 * a soft limit above the hard one is refused, and a lowered descriptor
 * limit is enforced by dup2(2). Hard limits are only ever lowered: raising
 * one needs privileges the host run may not have.
 */
#include "check.h"

#include <stdint.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <sys/syscall.h>

static const struct {
    int resource;
    const char *name;
} resources[] = {
#define RESOURCE(name) {name, #name}
    RESOURCE(RLIMIT_CPU),      RESOURCE(RLIMIT_FSIZE),
    RESOURCE(RLIMIT_DATA),     RESOURCE(RLIMIT_STACK),
    RESOURCE(RLIMIT_CORE),     RESOURCE(RLIMIT_RSS),
    RESOURCE(RLIMIT_NPROC),    RESOURCE(RLIMIT_NOFILE),
    RESOURCE(RLIMIT_MEMLOCK),  RESOURCE(RLIMIT_AS),
    RESOURCE(RLIMIT_LOCKS),    RESOURCE(RLIMIT_SIGPENDING),
    RESOURCE(RLIMIT_MSGQUEUE), RESOURCE(RLIMIT_NICE),
    RESOURCE(RLIMIT_RTPRIO),   RESOURCE(RLIMIT_RTTIME),
};

static void reading(void)
{
    SECTION("every limit reads");
    for (size_t i = 0; i < sizeof resources / sizeof resources[0]; i++) {
        struct rlimit limit;
        char what[80];
        snprintf(what, sizeof what, "getrlimit(%s)", resources[i].name);
        CHECK_RET(what, getrlimit(resources[i].resource, &limit), 0);
        snprintf(what, sizeof what, "%s soft <= hard", resources[i].name);
        CHECK(what, limit.rlim_cur <= limit.rlim_max);
        struct rlimit raw;
        snprintf(what, sizeof what, "prlimit64 agrees on %s",
                 resources[i].name);
        CHECK(what, syscall(SYS_prlimit64, 0, resources[i].resource, NULL,
                            &raw) == 0 &&
                        raw.rlim_cur == limit.rlim_cur &&
                        raw.rlim_max == limit.rlim_max);
    }
    struct rlimit stack;
    getrlimit(RLIMIT_STACK, &stack);
    CHECK("the stack limit is at least 1 MiB", stack.rlim_cur >= 1 << 20);
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    CHECK("at least 64 descriptors may be open", files.rlim_cur >= 64);
}

static void writing(void)
{
    SECTION("round trips");
    struct rlimit core;
    getrlimit(RLIMIT_CORE, &core);
    struct rlimit zero = {0, core.rlim_max};
    CHECK_RET("setrlimit(RLIMIT_CORE) soft to 0",
              setrlimit(RLIMIT_CORE, &zero), 0);
    struct rlimit back;
    CHECK_RET("getrlimit(RLIMIT_CORE)", getrlimit(RLIMIT_CORE, &back), 0);
    CHECK_EQ("the soft limit reads back as 0", back.rlim_cur, 0);
    CHECK("the hard limit is unchanged", back.rlim_max == core.rlim_max);

    struct rlimit old = {1, 1};
    struct rlimit mid = {4096, core.rlim_max};
    CHECK_RET("prlimit64 sets and returns the old value at once",
              syscall(SYS_prlimit64, 0, RLIMIT_CORE, &mid, &old), 0);
    CHECK_EQ("the old value is the previous soft limit", old.rlim_cur, 0);
    getrlimit(RLIMIT_CORE, &back);
    CHECK_EQ("the new soft limit reads back", back.rlim_cur, 4096);
    CHECK_RET("prlimit64 on our own pid",
              syscall(SYS_prlimit64, getpid(), RLIMIT_CORE, NULL, &old), 0);
    CHECK_EQ("reads the same value", old.rlim_cur, 4096);

    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    struct rlimit lower = {files.rlim_max, files.rlim_max};
    if (lower.rlim_max > 512)
        lower.rlim_max = 512;
    lower.rlim_cur = 32;
    CHECK_RET("lower RLIMIT_NOFILE to 32 soft, at most 512 hard",
              setrlimit(RLIMIT_NOFILE, &lower), 0);
    getrlimit(RLIMIT_NOFILE, &back);
    CHECK_EQ("the soft descriptor limit reads back", back.rlim_cur, 32);
    CHECK_EQ("the hard descriptor limit reads back", back.rlim_max,
             lower.rlim_max);
    CHECK_RET("dup2 just under the limit", dup2(1, 31), 31);
    CHECK_ERR("dup2 at the limit", dup2(1, 32), EBADF);
    CHECK_ERR("F_DUPFD at the limit", fcntl(1, F_DUPFD, 32), EINVAL);
    close(31);
    struct rlimit above = {lower.rlim_max + 1, lower.rlim_max};
    CHECK_ERR("a soft limit above the hard one",
              setrlimit(RLIMIT_NOFILE, &above), EINVAL);
    getrlimit(RLIMIT_NOFILE, &back);
    CHECK_EQ("the refused setrlimit changed nothing", back.rlim_cur, 32);
    struct rlimit raise = {64, lower.rlim_max};
    CHECK_RET("the soft limit may rise up to the hard one",
              setrlimit(RLIMIT_NOFILE, &raise), 0);
    CHECK_RET("dup2 is allowed again at 32", dup2(1, 32), 32);
    close(32);
}

static void errors(void)
{
    SECTION("errors");
    struct rlimit limit;
    CHECK_ERR("getrlimit of resource 100",
              syscall(SYS_getrlimit, 100, &limit), EINVAL);
    CHECK_ERR("setrlimit of resource 100",
              syscall(SYS_setrlimit, 100, &limit), EINVAL);
    CHECK_ERR("prlimit64 of resource 100",
              syscall(SYS_prlimit64, 0, 100, NULL, &limit), EINVAL);
    CHECK_ERR("getrlimit into a bad pointer",
              syscall(SYS_getrlimit, RLIMIT_CORE, BAD_POINTER), EFAULT);
    CHECK_ERR("setrlimit from a bad pointer",
              syscall(SYS_setrlimit, RLIMIT_CORE, BAD_POINTER), EFAULT);
    CHECK_ERR("prlimit64 into a bad pointer",
              syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, BAD_POINTER),
              EFAULT);
    CHECK_ERR("prlimit64 from a bad pointer",
              syscall(SYS_prlimit64, 0, RLIMIT_CORE, BAD_POINTER, NULL),
              EFAULT);
    CHECK_ERR("prlimit64 of a negative pid",
              syscall(SYS_prlimit64, -5, RLIMIT_CORE, NULL, &limit), ESRCH);
}

int main(void)
{
    reading();
    writing();
    errors();
    return check_finish();
}
