/*
 * linux-init: the whole user space of the Linux baseline guest.
 *
 * tools/linux-guest.sh packs this program as /init of a one-file-system
 * initramfs, next to the benchmark program as /prog. Linux runs it as
 * pid 1 with the words after "--" on its command line as arguments. It
 * gives the program what Villa gives it: /dev, /proc and a tmpfs on
 * /tmp; standard input from /dev/null; stdout on the first UART and
 * stderr on the second (the same ports Villa uses, so the host splits
 * them the same way), both raw so that "\n" is not sent as "\r\n"; and
 * an empty environment. It then runs /prog, waits for it, and ends the
 * VM through QEMU's isa-debug-exit device with the program's status, as
 * Villa's kernel does. QEMU then exits with (status << 1) | 1.
 *
 * When the initramfs carries /modules (tools/linux-guest.sh initramfs
 * --disk), init loads them in the order /modules/order gives, the
 * virtio-mmio and virtio-blk drivers, which Debian builds as modules,
 * and mounts the first disk, /dev/vda, as ext4 on /data: the disk
 * benchmark then finds its file system where Villa's image has it.
 *
 * The first thing it does is read the TSC, and it prints that reading
 * on the kernel console (the third UART): under TCG the guest TSC
 * counts from the moment the VM started, so it says how long Linux took
 * to reach its first user instruction. Its last console line gives the
 * program's status, which tools/linux-guest.sh reads: QEMU's own exit
 * status keeps only 7 bits of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* isa-debug-exit's port, as in Villa's MachineContract. */
enum { debug_exit_port = 0xf4 };

static uint64_t read_tsc(void)
{
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

/* Messages about the guest itself go to the kernel console, never to
 * the program's channels, so they cannot mix with benchmark output.
 * They are written to /dev/kmsg rather than to the console's tty: the
 * kernel prints its log to the console synchronously, whereas a tty
 * write may still sit in the UART driver's buffer when the VM stops.
 * The "<3>" prefix gives them the error level, the mildest that the
 * "quiet" command-line option still lets through to the console. */
static void say(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

static int console = -1;

static void say(const char *format, ...)
{
    char line[256] = "<3>";
    va_list args;
    va_start(args, format);
    int length = 3 + vsnprintf(line + 3, sizeof line - 3, format, args);
    va_end(args);
    if (length > (int)sizeof line - 1)
        length = (int)sizeof line - 1;
    if (console >= 0 && length > 3)
        (void)!write(console, line, (size_t)length);
}

/* Ends the VM with `status`. isa-debug-exit needs port access, which
 * pid 1 may take; if that fails, a plain power-off still stops QEMU,
 * only without the status. */
static void leave(int status)
{
    sync();
    if (ioperm(debug_exit_port, 4, 1) == 0)
        outl((uint32_t)status, debug_exit_port);
    say("linux-init: isa-debug-exit failed (%s); powering off\n",
        strerror(errno));
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

static void mount_or_die(const char *type, const char *target)
{
    mkdir(target, 0755);
    if (mount(type, target, type, 0, NULL) != 0) {
        say("linux-init: mount %s on %s: %s\n", type, target,
            strerror(errno));
        leave(125);
    }
}

/* The module parameters meant for `module` on the kernel command line
 * ("virtio_mmio.device=..." words, which QEMU's microvm adds for each
 * virtio-mmio slot), without the prefix, separated by spaces: the
 * kernel hands such words to built-in drivers only, and modprobe, which
 * would pass them on to a module, is not here. */
static void command_line_parameters(const char *module, char *out,
                                    size_t size)
{
    char line[4096];
    out[0] = '\0';
    int fd = open("/proc/cmdline", O_RDONLY);
    if (fd < 0)
        return;
    ssize_t length = read(fd, line, sizeof line - 1);
    close(fd);
    if (length <= 0)
        return;
    line[length] = '\0';
    size_t prefix = strlen(module);
    size_t used = 0;
    for (char *word = strtok(line, " \n"); word; word = strtok(NULL, " \n")) {
        if (strncmp(word, module, prefix) != 0 || word[prefix] != '.')
            continue;
        int wrote = snprintf(out + used, size - used, "%s%s",
                             used ? " " : "", word + prefix + 1);
        if (wrote < 0 || (size_t)wrote >= size - used)
            break;
        used += (size_t)wrote;
    }
}

/* Loads /modules/NAME.ko for each NAME in /modules/order, then mounts
 * /dev/vda on /data. Nothing to do without /modules/order. */
static void mount_disk(void)
{
    FILE *order = fopen("/modules/order", "r");
    if (!order)
        return;
    char name[64], path[128], parameters[1024];
    while (fscanf(order, "%63s", name) == 1) {
        snprintf(path, sizeof path, "/modules/%s.ko", name);
        int fd = open(path, O_RDONLY);
        command_line_parameters(name, parameters, sizeof parameters);
        if (fd < 0 || syscall(SYS_finit_module, fd, parameters, 0) != 0) {
            say("linux-init: loading %s: %s\n", path, strerror(errno));
            leave(125);
        }
        close(fd);
    }
    fclose(order);
    /* Probing is asynchronous: wait up to two seconds for the node. */
    struct stat info;
    for (int i = 0; i < 200 && stat("/dev/vda", &info) != 0; i++)
        usleep(10000);
    mkdir("/data", 0755);
    if (mount("/dev/vda", "/data", "ext4", 0, NULL) != 0) {
        say("linux-init: mount /dev/vda on /data: %s\n", strerror(errno));
        leave(125);
    }
}

/* Opens a UART as descriptor `fd`, in raw mode: no newline translation,
 * no echo, no line discipline between the program and the host. */
static void open_serial(const char *path, int fd)
{
    int opened = open(path, O_RDWR | O_NOCTTY);
    if (opened < 0) {
        say("linux-init: open %s: %s\n", path, strerror(errno));
        leave(125);
    }
    struct termios mode;
    if (tcgetattr(opened, &mode) == 0) {
        cfmakeraw(&mode);
        cfsetspeed(&mode, B115200);
        tcsetattr(opened, TCSANOW, &mode);
    }
    if (opened != fd) {
        dup2(opened, fd);
        close(opened);
    }
}

int main(int argc, char **argv)
{
    uint64_t first_tsc = read_tsc();

    /* devtmpfs first: everything else needs its device nodes. */
    mount_or_die("devtmpfs", "/dev");
    console = open("/dev/kmsg", O_WRONLY);
    say("linux-init: first instruction at tsc %llu\n",
        (unsigned long long)first_tsc);
    mount_or_die("proc", "/proc");
    mount_or_die("tmpfs", "/tmp");
    mount_disk();

    int null = open("/dev/null", O_RDONLY);
    if (null != 0) {
        dup2(null, 0);
        close(null);
    }
    open_serial("/dev/ttyS0", 1);
    open_serial("/dev/ttyS1", 2);

    /* The program's argv: its name, then what followed "--". */
    char *program_argv[argc + 1];
    program_argv[0] = "prog";
    for (int i = 1; i < argc; i++)
        program_argv[i] = argv[i];
    program_argv[argc] = NULL;
    char *empty_environment[] = {NULL};

    pid_t child = fork();
    if (child < 0) {
        say("linux-init: fork: %s\n", strerror(errno));
        leave(125);
    }
    if (child == 0) {
        execve("/prog", program_argv, empty_environment);
        say("linux-init: execve /prog: %s\n", strerror(errno));
        _exit(127);
    }

    int wait_status;
    while (waitpid(child, &wait_status, 0) < 0 && errno == EINTR)
        continue;
    /* Everything the program wrote must reach the host before QEMU
     * stops: the UART driver may still hold it in its buffer. */
    tcdrain(1);
    tcdrain(2);

    int status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
                                         : 128 + WTERMSIG(wait_status);
    say("linux-init: program exited with status %d\n", status);
    leave(status);
}
