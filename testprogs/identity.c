/*
 * identity: who the process is. Process and thread ids, the parent, user
 * and group ids, set_tid_address(2), the thread name of prctl(2), and
 * sched_yield(2). Ids differ between machines, so only their relations
 * are checked: a single-threaded process's tid is its pid, the ids agree
 * between the C library and raw system calls, and so on.
 */
#include "check.h"

#include <sched.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    (void)argc;

    SECTION("process ids");
    pid_t pid = getpid();
    CHECK("getpid is positive", pid > 0);
    CHECK_EQ("raw getpid equals getpid", syscall(SYS_getpid), pid);
    CHECK_EQ("getpid is stable", getpid(), pid);
    CHECK_EQ("gettid equals getpid when single-threaded",
             syscall(SYS_gettid), pid);
    pid_t parent = getppid();
    CHECK("getppid is not negative", parent >= 0);
    CHECK("getppid differs from getpid", parent != pid);
    CHECK_EQ("raw getppid equals getppid", syscall(SYS_getppid), parent);

    SECTION("set_tid_address");
    int clear_word = 0;
    long tid = syscall(SYS_set_tid_address, &clear_word);
    CHECK_EQ("set_tid_address returns the tid", tid, pid);
    CHECK_EQ("set_tid_address leaves the word alone", clear_word, 0);
    /* Give the C library's own word back; the value is the tid again. */
    CHECK_EQ("set_tid_address(NULL) returns the tid",
             syscall(SYS_set_tid_address, NULL), pid);

    SECTION("user and group ids");
    uid_t uid = getuid();
    gid_t gid = getgid();
    CHECK_EQ("geteuid equals getuid", geteuid(), uid);
    CHECK_EQ("getegid equals getgid", getegid(), gid);
    CHECK_EQ("raw getuid equals getuid", syscall(SYS_getuid), uid);
    CHECK_EQ("raw geteuid equals geteuid", syscall(SYS_geteuid), uid);
    CHECK_EQ("raw getgid equals getgid", syscall(SYS_getgid), gid);
    CHECK_EQ("raw getegid equals getegid", syscall(SYS_getegid), gid);

    SECTION("thread name");
    /* Linux names a new process after its executable's file name,
     * truncated to 15 bytes (TASK_COMM_LEN less the NUL). */
    const char *slash = strrchr(argv[0], '/');
    char expected[16] = {0};
    strncpy(expected, slash ? slash + 1 : argv[0], 15);
    char name[32];
    memset(name, 'x', sizeof name);
    CHECK_RET("PR_GET_NAME", prctl(PR_GET_NAME, name), 0);
    CHECK_STR("the name is the executable's file name", name, expected);
    CHECK_RET("PR_SET_NAME", prctl(PR_SET_NAME, "conformance"), 0);
    CHECK_RET("PR_GET_NAME after set", prctl(PR_GET_NAME, name), 0);
    CHECK_STR("the new name reads back", name, "conformance");
    CHECK_RET("PR_SET_NAME with a long name",
              prctl(PR_SET_NAME, "a-name-longer-than-fifteen-bytes"), 0);
    memset(name, 'x', sizeof name);
    CHECK_RET("PR_GET_NAME after a long set", prctl(PR_GET_NAME, name), 0);
    CHECK_STR("a long name is cut to 15 bytes", name, "a-name-longer-t");
    CHECK_EQ("PR_GET_NAME writes 16 bytes at most", name[16], 'x');
    CHECK_ERR("PR_SET_NAME from a bad pointer",
              prctl(PR_SET_NAME, (char *)8), EFAULT);
    CHECK_ERR("PR_GET_NAME to a bad pointer",
              prctl(PR_GET_NAME, (char *)8), EFAULT);

    SECTION("sched_yield");
    CHECK_RET("sched_yield", sched_yield(), 0);
    CHECK_RET("raw sched_yield", syscall(SYS_sched_yield), 0);
    CHECK_EQ("the pid survives a yield", getpid(), pid);

    return check_finish();
}
