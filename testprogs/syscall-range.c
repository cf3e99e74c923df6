/*
 * syscall-range: system call numbers that a kernel might mishandle as
 * an index into its table: negative ones, and the largest int. They
 * answer ENOSYS like any unknown number. (Linux looks at the low 32 bits
 * of rax only, so larger values would call whatever their low half
 * names; that is not checked.)
 */
#include "check.h"

#include <sys/syscall.h>

int main(void)
{
    SECTION("numbers out of range");
    CHECK_ERR("syscall -1", syscall(-1), ENOSYS);
    CHECK_ERR("syscall -2", syscall(-2), ENOSYS);
    CHECK_ERR("syscall -1000", syscall(-1000), ENOSYS);
    CHECK_ERR("syscall 0x7fffffff", syscall(0x7fffffffL), ENOSYS);
    CHECK("the program carries on", getpid() > 0);
    return check_finish();
}
