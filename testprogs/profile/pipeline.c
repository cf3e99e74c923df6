/*
 * pipeline: a small program with a few levels of calls, for showing what
 * `villa run --profile` and `villa profile-svg` draw (docs/profile-example
 * .svg is its flame graph). It makes records, sorts them with a merge
 * sort, checksums them with a bitwise CRC-32, and writes a report line
 * per block, so the profile has deep user stacks and system calls.
 *
 * Built with -fno-omit-frame-pointer, which the profiler's stack walk
 * needs. Usage: pipeline ROUNDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORDS 4096

struct record {
    unsigned key;
    unsigned value;
};

static unsigned long long seed = 88172645463325252ull;

__attribute__((noinline)) static unsigned next_random(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (unsigned)seed;
}

__attribute__((noinline)) static void generate(struct record *r, int n)
{
    for (int i = 0; i < n; i++) {
        r[i].key = next_random();
        r[i].value = next_random() % 1000;
    }
}

__attribute__((noinline)) static void merge(struct record *r,
                                            struct record *tmp,
                                            int low, int mid, int high)
{
    int i = low, j = mid, k = low;
    while (i < mid && j < high)
        tmp[k++] = r[i].key <= r[j].key ? r[i++] : r[j++];
    while (i < mid)
        tmp[k++] = r[i++];
    while (j < high)
        tmp[k++] = r[j++];
    memcpy(r + low, tmp + low, (high - low) * sizeof *r);
}

__attribute__((noinline)) static void sort_records(struct record *r,
                                                   struct record *tmp,
                                                   int low, int high)
{
    if (high - low < 2)
        return;
    int mid = low + (high - low) / 2;
    sort_records(r, tmp, low, mid);
    sort_records(r, tmp, mid, high);
    merge(r, tmp, low, mid, high);
}

__attribute__((noinline)) static unsigned crc32_update(unsigned crc,
                                                       unsigned char byte)
{
    crc ^= byte;
    for (int bit = 0; bit < 8; bit++)
        crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    return crc;
}

__attribute__((noinline)) static unsigned checksum(const struct record *r,
                                                   int n)
{
    const unsigned char *bytes = (const unsigned char *)r;
    unsigned crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n * sizeof *r; i++)
        crc = crc32_update(crc, bytes[i]);
    return ~crc;
}

__attribute__((noinline)) static void report(int round, unsigned crc,
                                             const struct record *r, int n)
{
    char line[128];
    for (int i = 0; i < n; i += 256) {
        int length = snprintf(line, sizeof line, "%d %u %u %u\n", round, crc,
                              r[i].key, r[i].value);
        if (write(STDOUT_FILENO, line, length) != length)
            exit(3);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int rounds = atoi(argv[1]);
    static struct record records[RECORDS], scratch[RECORDS];
    for (int round = 0; round < rounds; round++) {
        generate(records, RECORDS);
        sort_records(records, scratch, 0, RECORDS);
        report(round, checksum(records, RECORDS), records, RECORDS);
    }
    return 0;
}
