/*
 * vdso: the virtual shared object the kernel maps into every process.
 * AT_SYSINFO_EHDR points at a valid ELF shared object whose dynamic
 * symbol table holds __vdso_clock_gettime, __vdso_gettimeofday,
 * __vdso_time and __vdso_getcpu in version LINUX_2.6 (what the C
 * libraries and Go look up); /proc/self/maps names it [vdso]. Its
 * functions, called directly and through the C library, agree with the
 * system calls: in interleaved reads the monotonic clock never goes back
 * between the two paths, gettimeofday and time fall between two
 * CLOCK_REALTIME reads, getcpu names an allowed CPU, and clocks the vDSO
 * cannot serve come back from the kernel (CPU time, bad ids).
 */
#include "check.h"

#include <elf.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#define NSEC 1000000000LL

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);
typedef int (*getcpu_fn)(unsigned *, unsigned *, void *);

/* The vDSO's tables, found through its program and dynamic headers. */
static const Elf64_Ehdr *header;
static uintptr_t bias;
static const Elf64_Sym *symbols;
static const char *strings;
static const Elf32_Word *hash;
static const Elf64_Half *versions;
static const Elf64_Verdef *definitions;

static void *vdso_pointer(uint64_t address)
{
    return (void *)(bias + address);
}

static int read_tables(void)
{
    const Elf64_Phdr *phdr = (const void *)((const char *)header
                                            + header->e_phoff);
    const Elf64_Dyn *dynamic = NULL;
    int have_load = 0;
    for (int i = 0; i < header->e_phnum; i++) {
        if (phdr[i].p_type == PT_LOAD && !have_load) {
            bias = (uintptr_t)header - phdr[i].p_vaddr;
            have_load = 1;
        }
    }
    for (int i = 0; i < header->e_phnum; i++) {
        if (phdr[i].p_type == PT_DYNAMIC)
            dynamic = vdso_pointer(phdr[i].p_vaddr);
    }
    if (!have_load || !dynamic)
        return 0;
    for (; dynamic->d_tag != DT_NULL; dynamic++) {
        void *p = vdso_pointer(dynamic->d_un.d_ptr);
        switch (dynamic->d_tag) {
        case DT_SYMTAB: symbols = p; break;
        case DT_STRTAB: strings = p; break;
        case DT_HASH: hash = p; break;
        case DT_VERSYM: versions = p; break;
        case DT_VERDEF: definitions = p; break;
        }
    }
    return symbols && strings && hash && versions && definitions;
}

/* The name of the version definition with index `index`. */
static const char *version_name(unsigned index)
{
    const Elf64_Verdef *d = definitions;
    for (;;) {
        if ((d->vd_ndx & 0x7fff) == index) {
            const Elf64_Verdaux *aux = (const void *)((const char *)d
                                                      + d->vd_aux);
            return strings + aux->vda_name;
        }
        if (d->vd_next == 0)
            return "";
        d = (const void *)((const char *)d + d->vd_next);
    }
}

/* A defined function symbol by name in version LINUX_2.6, or NULL. */
static void *lookup(const char *name)
{
    Elf32_Word count = hash[1];
    for (Elf32_Word i = 0; i < count; i++) {
        const Elf64_Sym *s = &symbols[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC
            || s->st_shndx == SHN_UNDEF
            || strcmp(strings + s->st_name, name) != 0)
            continue;
        if (strcmp(version_name(versions[i] & 0x7fff), "LINUX_2.6") != 0)
            continue;
        return vdso_pointer(s->st_value);
    }
    return NULL;
}

static long long libc_ns(clockid_t clock)
{
    struct timespec t;
    if (clock_gettime(clock, &t) != 0)
        return -1;
    return t.tv_sec * NSEC + t.tv_nsec;
}

static long long raw_ns(clockid_t clock)
{
    struct timespec t;
    if (syscall(SYS_clock_gettime, clock, &t) != 0)
        return -1;
    return t.tv_sec * NSEC + t.tv_nsec;
}

static long long vdso_ns(clock_gettime_fn f, clockid_t clock)
{
    struct timespec t;
    if (f(clock, &t) != 0)
        return -1;
    return t.tv_sec * NSEC + t.tv_nsec;
}

static void the_object(void)
{
    SECTION("the object");
    unsigned long address = getauxval(AT_SYSINFO_EHDR);
    CHECK("AT_SYSINFO_EHDR is present", address != 0);
    if (address == 0)
        exit(check_finish());
    header = (const Elf64_Ehdr *)address;
    CHECK("it points at an ELF header",
          memcmp(header->e_ident, ELFMAG, SELFMAG) == 0);
    CHECK("a 64-bit little-endian object",
          header->e_ident[EI_CLASS] == ELFCLASS64
          && header->e_ident[EI_DATA] == ELFDATA2LSB);
    CHECK("a shared object for x86_64",
          header->e_type == ET_DYN && header->e_machine == EM_X86_64);
    CHECK("it is page-aligned", address % 4096 == 0);
    CHECK("its dynamic, symbol, hash and version tables are found",
          read_tables());

    FILE *maps = fopen("/proc/self/maps", "r");
    int named = 0;
    char line[512];
    while (maps && fgets(line, sizeof line, maps)) {
        if (strstr(line, "[vdso]")
            && strtoul(line, NULL, 16) == address)
            named = 1;
    }
    if (maps)
        fclose(maps);
    CHECK("/proc/self/maps shows [vdso] at that address", named);
}

static void the_functions(void)
{
    SECTION("the functions");
    clock_gettime_fn vclock = (clock_gettime_fn)lookup("__vdso_clock_gettime");
    gettimeofday_fn vgtod = (gettimeofday_fn)lookup("__vdso_gettimeofday");
    time_fn vtime = (time_fn)lookup("__vdso_time");
    getcpu_fn vgetcpu = (getcpu_fn)lookup("__vdso_getcpu");
    CHECK("__vdso_clock_gettime@LINUX_2.6 exists", vclock != NULL);
    CHECK("__vdso_gettimeofday@LINUX_2.6 exists", vgtod != NULL);
    CHECK("__vdso_time@LINUX_2.6 exists", vtime != NULL);
    CHECK("__vdso_getcpu@LINUX_2.6 exists", vgetcpu != NULL);
    CHECK("an unknown name is not found", lookup("__vdso_nothing") == NULL);
    if (!vclock || !vgtod || !vtime || !vgetcpu)
        return;

    static const clockid_t clocks[] = {
        CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME, CLOCK_REALTIME,
    };
    static const char *names[] = {
        "CLOCK_MONOTONIC", "CLOCK_MONOTONIC_RAW", "CLOCK_BOOTTIME",
        "CLOCK_REALTIME",
    };
    for (int c = 0; c < 4; c++) {
        int order = 1, errors = 0;
        long long previous = raw_ns(clocks[c]);
        for (int i = 0; i < 3000; i++) {
            long long v = vdso_ns(vclock, clocks[c]);
            long long l = libc_ns(clocks[c]);
            long long r = raw_ns(clocks[c]);
            if (v < 0 || l < 0 || r < 0)
                errors++;
            if (!(previous <= v && v <= l && l <= r))
                order = 0;
            previous = r;
        }
        char what[128];
        snprintf(what, sizeof what, "%s: vDSO, libc and syscall reads "
                 "interleaved 3000 times never go back", names[c]);
        CHECK(what, order && errors == 0);
    }

    int tod_order = 1, time_order = 1;
    for (int i = 0; i < 1000; i++) {
        long long before = raw_ns(CLOCK_REALTIME);
        struct timeval libc_tv, vdso_tv;
        gettimeofday(&libc_tv, NULL);
        vgtod(&vdso_tv, NULL);
        time_t libc_t = time(NULL);
        time_t vdso_t = 0;
        time_t returned = vtime(&vdso_t);
        long long after = raw_ns(CLOCK_REALTIME);
        long long a = libc_tv.tv_sec * 1000000LL + libc_tv.tv_usec;
        long long b = vdso_tv.tv_sec * 1000000LL + vdso_tv.tv_usec;
        if (!(before / 1000 <= a && a <= b && b <= after / 1000))
            tod_order = 0;
        if (!(before / NSEC <= libc_t && libc_t <= vdso_t
              && vdso_t <= after / NSEC && returned == vdso_t))
            time_order = 0;
    }
    CHECK("gettimeofday (libc and vDSO) falls between CLOCK_REALTIME reads",
          tod_order);
    CHECK("time (libc and vDSO) falls between CLOCK_REALTIME reads",
          time_order);
    struct timezone tz = {-1, -1};
    struct timeval tv;
    CHECK_RET("vDSO gettimeofday with a timezone", vgtod(&tv, &tz), 0);
    CHECK("the timezone is UTC", tz.tz_minuteswest == 0 && tz.tz_dsttime == 0);
    CHECK_RET("vDSO gettimeofday with neither argument", vgtod(NULL, NULL), 0);

    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    sched_getaffinity(0, sizeof allowed, &allowed);
    unsigned cpu = 99999, node = 99999;
    CHECK_RET("vDSO getcpu", vgetcpu(&cpu, &node, NULL), 0);
    CHECK("vDSO getcpu names an allowed CPU",
          cpu < CPU_SETSIZE && CPU_ISSET(cpu, &allowed));
    CHECK("vDSO getcpu gives a node", node < 1024);
    CHECK_RET("vDSO getcpu with NULL pointers", vgetcpu(NULL, NULL, NULL), 0);
    int libc_cpu = sched_getcpu();
    CHECK("sched_getcpu names an allowed CPU",
          libc_cpu >= 0 && CPU_ISSET(libc_cpu, &allowed));

    SECTION("what the kernel answers");
    struct timespec t;
    CHECK_RET("vDSO clock_gettime(CLOCK_PROCESS_CPUTIME_ID)",
              vclock(CLOCK_PROCESS_CPUTIME_ID, &t), 0);
    CHECK("it gives a valid time", t.tv_sec >= 0 && t.tv_nsec >= 0
          && t.tv_nsec < NSEC && (t.tv_sec > 0 || t.tv_nsec > 0));
    CHECK_RET("vDSO clock_gettime(CLOCK_THREAD_CPUTIME_ID)",
              vclock(CLOCK_THREAD_CPUTIME_ID, &t), 0);
    /* Like the system call it falls back on, an error is a negative
     * errno returned, not -1 with errno set. */
    CHECK_RET("vDSO clock_gettime of clock 100 gives -EINVAL",
              vclock(100, &t), -EINVAL);
    CHECK_ERR("libc clock_gettime of clock 100", clock_gettime(100, &t),
              EINVAL);
}

int main(void)
{
    the_object();
    the_functions();
    return check_finish();
}
