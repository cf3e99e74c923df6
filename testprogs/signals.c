/*
 * signals: delivering signals to the program's own handlers.
 * sigaction(2) handlers run for raise and kill on our own pid, with
 * SA_SIGINFO details; a blocked signal waits in sigpending until it is
 * unblocked; a SIGSEGV handler can escape a fault with siglongjmp; an
 * alternate signal stack is used when asked for; a timer signal
 * interrupts a sleep with EINTR; and the errors for bad signal numbers
 * and for SIGKILL's disposition.
 */
#include "check.h"

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t usr1_count;
static volatile int last_code, last_signo;
static volatile pid_t last_pid;
static volatile uintptr_t handler_stack;
static sigjmp_buf escape;
static volatile uintptr_t fault_address;
static volatile sig_atomic_t alarms;

static void on_usr1(int signal, siginfo_t *info, void *context)
{
    (void)context;
    usr1_count++;
    last_signo = signal;
    last_code = info->si_code;
    last_pid = info->si_pid;
    int local;
    handler_stack = (uintptr_t)&local;
}

static void on_segv(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)context;
    fault_address = (uintptr_t)info->si_addr;
    siglongjmp(escape, 1);
}

static void on_alarm(int signal)
{
    (void)signal;
    alarms++;
}

int main(void)
{
    SECTION("handlers");
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_usr1;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    CHECK_RET("sigaction(SIGUSR1)", sigaction(SIGUSR1, &action, NULL), 0);
    CHECK_RET("raise(SIGUSR1)", raise(SIGUSR1), 0);
    CHECK_EQ("the handler ran once", usr1_count, 1);
    CHECK_EQ("with si_signo SIGUSR1", last_signo, SIGUSR1);
    CHECK_RET("kill(getpid(), SIGUSR1)", kill(getpid(), SIGUSR1), 0);
    CHECK_EQ("the handler ran again", usr1_count, 2);
    CHECK_EQ("si_code is SI_USER", last_code, SI_USER);
    CHECK_EQ("si_pid is ours", last_pid, getpid());
    CHECK_RET("kill with signal 0 checks only", kill(getpid(), 0), 0);
    struct sigaction old;
    CHECK_RET("sigaction reads the old action", sigaction(SIGUSR1, NULL, &old),
              0);
    CHECK("the handler reads back", old.sa_sigaction == on_usr1 &&
                                        (old.sa_flags & SA_SIGINFO));

    SECTION("blocking");
    sigset_t block, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    CHECK_RET("block SIGUSR1", sigprocmask(SIG_BLOCK, &block, NULL), 0);
    raise(SIGUSR1);
    CHECK_EQ("a blocked signal is not delivered", usr1_count, 2);
    sigemptyset(&pending);
    CHECK_RET("sigpending", sigpending(&pending), 0);
    CHECK("SIGUSR1 is pending", sigismember(&pending, SIGUSR1));
    CHECK_RET("unblock SIGUSR1", sigprocmask(SIG_UNBLOCK, &block, NULL), 0);
    CHECK_EQ("it is delivered on unblocking", usr1_count, 3);
    sigpending(&pending);
    CHECK("and no longer pending", !sigismember(&pending, SIGUSR1));

    SECTION("an alternate stack");
    static char alternate[65536];
    stack_t stack = {.ss_sp = alternate, .ss_size = sizeof alternate};
    CHECK_RET("sigaltstack", sigaltstack(&stack, NULL), 0);
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    CHECK("the handler ran on the alternate stack",
          handler_stack >= (uintptr_t)alternate &&
              handler_stack < (uintptr_t)alternate + sizeof alternate);

    SECTION("faults");
    struct sigaction segv;
    memset(&segv, 0, sizeof segv);
    segv.sa_sigaction = on_segv;
    segv.sa_flags = SA_SIGINFO;
    CHECK_RET("sigaction(SIGSEGV)", sigaction(SIGSEGV, &segv, NULL), 0);
    if (sigsetjmp(escape, 1) == 0) {
        volatile int *bad = (volatile int *)OPAQUE(0x1000);
        *bad = 1;
        CHECK("the fault happened", 0);
    } else {
        CHECK("siglongjmp left the SIGSEGV handler", 1);
        CHECK_EQ("si_addr is the faulting address", fault_address, 0x1000);
    }

    SECTION("interrupted sleep");
    struct sigaction alarm_action;
    memset(&alarm_action, 0, sizeof alarm_action);
    alarm_action.sa_handler = on_alarm;
    CHECK_RET("sigaction(SIGALRM) without SA_RESTART",
              sigaction(SIGALRM, &alarm_action, NULL), 0);
    struct itimerval timer = {{0, 0}, {0, 20 * 1000}};
    CHECK_RET("setitimer for 20 ms", setitimer(ITIMER_REAL, &timer, NULL), 0);
    struct timespec nap = {5, 0};
    CHECK_ERR("a 5 s nanosleep is interrupted", nanosleep(&nap, &nap), EINTR);
    CHECK_EQ("the alarm handler ran", alarms, 1);
    CHECK("the remaining time was written", nap.tv_sec <= 5 && nap.tv_sec >= 3);

    SECTION("errors");
    CHECK_ERR("sigaction on SIGKILL", sigaction(SIGKILL, &action, NULL),
              EINVAL);
    CHECK_ERR("sigaction on SIGSTOP", sigaction(SIGSTOP, &action, NULL),
              EINVAL);
    CHECK_ERR("sigaction on signal 65",
              syscall(SYS_rt_sigaction, 65, NULL, NULL, 8), EINVAL);
    CHECK_ERR("kill with signal 65", kill(getpid(), 65), EINVAL);
    CHECK_ERR("rt_sigprocmask with a bad how",
              syscall(SYS_rt_sigprocmask, 99, &block, NULL, 8), EINVAL);
    CHECK_ERR("rt_sigprocmask with a bad size",
              syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, NULL, 4), EINVAL);
    CHECK_ERR("kill of a pid that does not exist", kill(0x3ffffff0, 0), ESRCH);
    return check_finish();
}
