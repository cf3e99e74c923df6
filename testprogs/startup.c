/*
 * startup: what the kernel hands a new program. argv and envp as the
 * harness gave them (check.h's CHECK_ARGUMENTS and CHECK_ENVIRONMENT),
 * the layout of the initial stack (envp right after argv's NULL, the
 * auxiliary vector right after envp's), and the auxiliary vector: page
 * size, program headers (compared with the program's own ELF header),
 * entry point, ids, AT_RANDOM, AT_EXECFN, AT_PLATFORM. Addresses are
 * compared, never printed.
 */
#include "check.h"

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>

extern const Elf64_Ehdr __ehdr_start;
extern void _start(void);

static const char *arguments[] = CHECK_ARGUMENTS;
static const char *environment[] = CHECK_ENVIRONMENT;
#define COUNT(array) (sizeof array / sizeof array[0])

static void command_line(int argc, char **argv, char **envp)
{
    SECTION("argv");
    CHECK_EQ("argc counts argv[0] and the harness's arguments", argc,
             1 + COUNT(arguments));
    CHECK("argv[0] is an absolute path", argv[0] && argv[0][0] == '/');
    for (size_t i = 0; i < COUNT(arguments) && (int)i + 1 < argc; i++) {
        char what[48];
        snprintf(what, sizeof what, "argv[%zu]", i + 1);
        CHECK_STR(what, argv[i + 1], arguments[i]);
    }
    CHECK("argv[argc] is NULL", argv[argc] == NULL);

    SECTION("envp");
    size_t count = 0;
    while (envp[count])
        count++;
    CHECK_EQ("the environment has exactly the harness's variables", count,
             COUNT(environment));
    for (size_t i = 0; i < COUNT(environment) && i < count; i++) {
        char what[48];
        snprintf(what, sizeof what, "envp[%zu]", i);
        CHECK_STR(what, envp[i], environment[i]);
    }
    CHECK_STR("getenv(\"VILLA_TEST\")", getenv("VILLA_TEST"), "1");
    CHECK("getenv of a missing variable is NULL", getenv("NOPE") == NULL);
    extern char **environ;
    CHECK("environ is main's envp", environ == envp);
    CHECK("envp follows argv's NULL on the stack", envp == argv + argc + 1);
}

/* The vector's start, found from envp as the kernel laid it out. */
static Elf64_auxv_t *auxv_start;

/* A value straight from the vector: glibc's getauxval(AT_HWCAP) answers
 * with its own reading of CPUID instead of the kernel's value. */
static unsigned long raw_auxval(unsigned long type)
{
    for (Elf64_auxv_t *entry = auxv_start; entry->a_type != AT_NULL; entry++)
        if (entry->a_type == type)
            return entry->a_un.a_val;
    return 0;
}

static void auxiliary_vector(char **argv, char **envp)
{
    SECTION("auxv layout");
    size_t count = 0;
    while (envp[count])
        count++;
    Elf64_auxv_t *auxv = (Elf64_auxv_t *)(envp + count + 1);
    auxv_start = auxv;
    size_t entries = 0;
    int seen_pagesz = 0;
    while (auxv[entries].a_type != AT_NULL && entries < 256) {
        if (auxv[entries].a_type == AT_PAGESZ &&
            auxv[entries].a_un.a_val == 4096)
            seen_pagesz = 1;
        entries++;
    }
    CHECK("the auxiliary vector follows envp and ends with AT_NULL",
          entries > 0 && entries < 256);
    CHECK("walking it finds AT_PAGESZ 4096", seen_pagesz);

    SECTION("auxv values");
    CHECK_EQ("AT_PAGESZ", getauxval(AT_PAGESZ), 4096);
    const Elf64_Ehdr *ehdr = &__ehdr_start;
    CHECK_EQ("our own ELF header: x86_64", ehdr->e_machine, EM_X86_64);
    const Elf64_Phdr *phdr =
        (const Elf64_Phdr *)((const char *)ehdr + ehdr->e_phoff);
    CHECK_EQ("AT_PHDR points at our program headers", getauxval(AT_PHDR),
             (uintptr_t)phdr);
    CHECK_EQ("AT_PHNUM is our header count", getauxval(AT_PHNUM),
             ehdr->e_phnum);
    CHECK_EQ("AT_PHENT is the size of Elf64_Phdr", getauxval(AT_PHENT),
             sizeof(Elf64_Phdr));
    CHECK_EQ("AT_ENTRY is _start", getauxval(AT_ENTRY), (uintptr_t)&_start);
    CHECK_EQ("AT_BASE is 0 without an interpreter", getauxval(AT_BASE), 0);
    CHECK_EQ("AT_FLAGS is 0", getauxval(AT_FLAGS), 0);
    CHECK_EQ("AT_UID is getuid()", getauxval(AT_UID), getuid());
    CHECK_EQ("AT_EUID is geteuid()", getauxval(AT_EUID), geteuid());
    CHECK_EQ("AT_GID is getgid()", getauxval(AT_GID), getgid());
    CHECK_EQ("AT_EGID is getegid()", getauxval(AT_EGID), getegid());
    CHECK_EQ("AT_SECURE is 0", getauxval(AT_SECURE), 0);
    CHECK_EQ("AT_CLKTCK is 100", getauxval(AT_CLKTCK), 100);
    /* On x86_64, AT_HWCAP is CPUID leaf 1's EDX. */
    CHECK("AT_HWCAP says the FPU is there (bit 0)", raw_auxval(AT_HWCAP) & 1);
    CHECK("AT_HWCAP says SSE2 is there (bit 26)",
          raw_auxval(AT_HWCAP) & (1ul << 26));
    CHECK_EQ("getauxval agrees with the vector on AT_PHDR",
             raw_auxval(AT_PHDR), getauxval(AT_PHDR));
    const char *platform = (const char *)getauxval(AT_PLATFORM);
    CHECK_STR("AT_PLATFORM", platform, "x86_64");
    const unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);
    CHECK("AT_RANDOM is not NULL", random != NULL);
    int zero = 1;
    for (int i = 0; random && i < 16; i++)
        if (random[i] != 0)
            zero = 0;
    CHECK("its 16 bytes are not all zero", !zero);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    CHECK("AT_EXECFN is not NULL", execfn != NULL);
    CHECK("AT_EXECFN is the path the program was started by",
          execfn && strcmp(execfn, argv[0]) == 0);
    CHECK("AT_EXECFN lies above the auxiliary vector on the stack",
          (uintptr_t)execfn > (uintptr_t)auxv);
    CHECK("argv strings lie above the auxiliary vector",
          (uintptr_t)argv[0] > (uintptr_t)auxv);
    errno = 0;
    CHECK("an absent type gives 0", getauxval(0x7fff) == 0);
    CHECK_EQ("and sets ENOENT", errno, ENOENT);
}

static int program_data;

static void stack_alignment(void)
{
    SECTION("stack");
    /* Compilers keep the stack 16-byte aligned at every call; a wrong
     * start would show in a 16-byte aligned local. */
    _Alignas(16) char probe[16];
    CHECK_EQ("a 16-byte aligned local is aligned", (uintptr_t)probe % 16, 0);
    CHECK("the stack lies above the program's data",
          (uintptr_t)probe > (uintptr_t)&program_data);
}

int main(int argc, char **argv, char **envp)
{
    command_line(argc, argv, envp);
    auxiliary_vector(argv, envp);
    stack_alignment();
    return check_finish();
}
