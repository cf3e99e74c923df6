/*
 * enosys: system call numbers with no implementation answer ENOSYS, and
 * the program carries on. Some numbers Linux names but never
 * implemented on x86_64 (tuxcall, afs_syscall and the like, kept so
 * that the numbering stays stable); 400 lies in the gap x86_64 leaves
 * unassigned (335 is uretprobe, 424 starts the shared numbering); 1000
 * is past the end of the table. The kernel logs each missing number
 * once, which EndToEndTests checks by calling two of them twice.
 */
#include "check.h"

#include <sys/syscall.h>

int main(void)
{
    SECTION("numbers past the table");
    CHECK_ERR("syscall 1000", syscall(1000), ENOSYS);
    CHECK_ERR("syscall 1000 again", syscall(1000, 1, 2, 3, 4, 5, 6), ENOSYS);
    CHECK_ERR("syscall 400, unassigned", syscall(400), ENOSYS);
    CHECK_ERR("syscall 0x40000000 + getpid (x32, not enabled here)",
              syscall(0x40000000 | SYS_getpid), ENOSYS);

    SECTION("numbers Linux names but never implemented");
    static const struct {
        long number;
        const char *name;
    } retired[] = {
        {174, "create_module"}, {177, "get_kernel_syms"},
        {178, "query_module"},  {180, "nfsservctl"},
        {181, "getpmsg"},       {182, "putpmsg"},
        {183, "afs_syscall"},   {185, "security"},
        {214, "epoll_ctl_old"}, {215, "epoll_wait_old"},
        {236, "vserver"},
    };
    for (size_t i = 0; i < sizeof retired / sizeof retired[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s (%ld)", retired[i].name,
                 retired[i].number);
        CHECK_ERR(what, syscall(retired[i].number, 0, 0, 0), ENOSYS);
    }
    CHECK_ERR("tuxcall (184), never implemented", syscall(SYS_tuxcall),
              ENOSYS);
    CHECK_ERR("tuxcall again", syscall(SYS_tuxcall), ENOSYS);
    CHECK("the program carries on", getpid() > 0);
    return check_finish();
}
