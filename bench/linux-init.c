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
 * an empty environment. Before that it loads the kernel modules listed
 * in /modules/order, if the initramfs has them (the cloud kernel builds
 * its virtio drivers as modules), and gives a network card, if there is
 * one, the address QEMU's user network would lease by DHCP, as Villa
 * takes it: 10.0.2.15/24 through 10.0.2.2. When virtio_blk was among
 * the modules, it mounts the first disk, /dev/vda, as ext4 on /data,
 * where the disk benchmark finds its file system in both guests (Villa's
 * image is its root, holding /data). It then runs /prog, waits
 * for it, and ends the
 * VM through QEMU's isa-debug-exit device with the program's status, as
 * Villa's kernel does. QEMU then exits with (status << 1) | 1.
 *
 * The first thing it does is read the TSC, and it prints that reading
 * on the kernel console (the third UART): under TCG the guest TSC
 * counts from the moment the VM started, so it says how long Linux took
 * to reach its first user instruction. Its last console line gives the
 * program's status, which tools/linux-guest.sh reads: QEMU's own exit
 * status keeps only 7 bits of it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
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

/* The parameters the kernel command line gives module `name` (words
 * "name.param=value"), as finit_module takes them: "param=value ...".
 * modprobe does this on a full system; QEMU's microvm announces its
 * virtio-mmio devices this way ("virtio_mmio.device=..."). */
static void module_parameters(const char *name, char *out, size_t size)
{
    static char line[4096];
    out[0] = 0;
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, line, sizeof line - 1);
    close(fd);
    line[n > 0 ? n : 0] = 0;
    size_t length = strlen(name), used = 0;
    for (char *word = strtok(line, " \n"); word; word = strtok(NULL, " \n")) {
        if (strncmp(word, name, length) != 0 || word[length] != '.')
            continue;
        int wrote = snprintf(out + used, size - used, "%s%s",
                             used ? " " : "", word + length + 1);
        if (wrote > 0 && (size_t)wrote < size - used)
            used += (size_t)wrote;
    }
}

/* Loads each module named in /modules/order, in that order (each after
 * those it depends on); no list, nothing to do. */
static void load_modules(void)
{
    FILE *order = fopen("/modules/order", "r");
    if (order == NULL)
        return;
    char name[128], path[192], parameters[1024];
    while (fgets(name, sizeof name, order)) {
        name[strcspn(name, "\n")] = 0;
        snprintf(path, sizeof path, "/modules/%s", name);
        /* "virtio_mmio.ko" takes the parameters of "virtio_mmio". */
        char *dot = strrchr(name, '.');
        if (dot)
            *dot = 0;
        module_parameters(name, parameters, sizeof parameters);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || syscall(SYS_finit_module, fd, parameters, 0) != 0) {
            say("linux-init: loading %s: %s\n", name, strerror(errno));
            leave(125);
        }
        close(fd);
    }
    fclose(order);
}

/* Mounts /dev/vda (ext4) on /data when the disk driver is loaded, as
 * /proc/modules tells (/sys is not mounted here). */
static void mount_disk(void)
{
    char line[256];
    int loaded = 0;
    FILE *modules = fopen("/proc/modules", "r");
    while (modules && fgets(line, sizeof line, modules))
        loaded |= strncmp(line, "virtio_blk ", 11) == 0;
    if (modules)
        fclose(modules);
    if (!loaded)
        return;
    struct stat info;
    /* The disk is probed in the background: wait up to two seconds. */
    for (int i = 0; i < 200 && stat("/dev/vda", &info) != 0; i++)
        usleep(10000);
    mkdir("/data", 0755);
    if (mount("/dev/vda", "/data", "ext4", 0, NULL) != 0) {
        say("linux-init: mount /dev/vda on /data: %s\n", strerror(errno));
        leave(125);
    }
}

static void set_address(int sock, const char *card, unsigned long request,
                        const char *text)
{
    struct ifreq change = {0};
    snprintf(change.ifr_name, IFNAMSIZ, "%s", card);
    struct sockaddr_in *address = (struct sockaddr_in *)&change.ifr_addr;
    address->sin_family = AF_INET;
    inet_pton(AF_INET, text, &address->sin_addr);
    if (ioctl(sock, request, &change) != 0) {
        say("linux-init: %s address %s: %s\n", card, text, strerror(errno));
        leave(125);
    }
}

static void bring_up(int sock, const char *card)
{
    struct ifreq change = {0};
    snprintf(change.ifr_name, IFNAMSIZ, "%s", card);
    if (ioctl(sock, SIOCGIFFLAGS, &change) != 0)
        return;
    change.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(sock, SIOCSIFFLAGS, &change) != 0) {
        say("linux-init: bringing %s up: %s\n", card, strerror(errno));
        leave(125);
    }
}

/* Loopback always; eth0, when a card exists, as QEMU's DHCP would set
 * it, with the default route through the user network's gateway. */
static void configure_network(void)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return;
    bring_up(sock, "lo");
    struct ifreq probe = {0};
    snprintf(probe.ifr_name, IFNAMSIZ, "eth0");
    if (ioctl(sock, SIOCGIFFLAGS, &probe) == 0) {
        set_address(sock, "eth0", SIOCSIFADDR, "10.0.2.15");
        set_address(sock, "eth0", SIOCSIFNETMASK, "255.255.255.0");
        bring_up(sock, "eth0");
        struct rtentry route = {0};
        struct sockaddr_in *gateway = (struct sockaddr_in *)&route.rt_gateway;
        gateway->sin_family = AF_INET;
        inet_pton(AF_INET, "10.0.2.2", &gateway->sin_addr);
        ((struct sockaddr_in *)&route.rt_dst)->sin_family = AF_INET;
        ((struct sockaddr_in *)&route.rt_genmask)->sin_family = AF_INET;
        route.rt_flags = RTF_UP | RTF_GATEWAY;
        if (ioctl(sock, SIOCADDRT, &route) != 0) {
            say("linux-init: default route: %s\n", strerror(errno));
            leave(125);
        }
    }
    close(sock);
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
    load_modules();
    mount_disk();
    configure_network();

    int null = open("/dev/null", O_RDONLY);
    if (null != 0) {
        dup2(null, 0);
        close(null);
    }
    open_serial("/dev/ttyS0", 1);
    open_serial("/dev/ttyS1", 2);

    /* The program's argv: its name, then what followed "--". */
    /* QEMU appends its own kernel parameters (microvm's
     * "virtio_mmio.device=...") after the user's words, so past "--":
     * they reach init as arguments and are not the program's. */
    char *program_argv[argc + 1];
    int program_argc = 0;
    program_argv[program_argc++] = "prog";
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "virtio_mmio.", 12) != 0)
            program_argv[program_argc++] = argv[i];
    program_argv[program_argc] = NULL;
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
