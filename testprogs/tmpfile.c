/*
 * tmpfile: open(2) with O_TMPFILE makes a regular file with no name in a
 * directory: it has no links, does not show in the directory, reads and
 * writes like any file, and linkat(2) through /proc/self/fd with
 * AT_SYMLINK_FOLLOW gives it a name, unless it was made with O_EXCL.
 * A file whose last name was unlinked cannot be named again that way.
 * The errors: no write access or no O_DIRECTORY (EINVAL), not a
 * directory (ENOTDIR), missing (ENOENT), a filesystem without nameless
 * files such as /proc (EOPNOTSUPP). Works in a directory made with
 * mkdtemp under /tmp, removed at the end.
 */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

/* How many entries besides "." and ".." the directory holds. */
static int entries(const char *path)
{
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 &&
            strcmp(entry->d_name, "..") != 0)
            count++;
    closedir(dir);
    return count;
}

static long links_of(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (long)st.st_nlink : -1;
}

int main(void)
{
    umask(022);
    char base[] = "/tmp/villa-tmpfile-XXXXXX";
    CHECK("mkdtemp under /tmp", mkdtemp(base) != NULL);
    char name[64], second[64], proc[64], plain[64];
    snprintf(name, sizeof name, "%s/named", base);
    snprintf(second, sizeof second, "%s/again", base);
    snprintf(plain, sizeof plain, "%s/plain", base);

    SECTION("a nameless file");
    int fd = open(base, O_TMPFILE | O_RDWR, 0640);
    CHECK("open O_TMPFILE | O_RDWR", fd >= 0);
    struct stat st;
    CHECK_RET("fstat it", fstat(fd, &st), 0);
    CHECK("it is a regular file", S_ISREG(st.st_mode));
    CHECK_EQ("with the mode asked for", st.st_mode & 07777, 0640);
    CHECK_EQ("and no links", st.st_nlink, 0);
    CHECK_EQ("the directory stays empty", entries(base), 0);
    CHECK_RET("write to it", write(fd, "nameless", 8), 8);
    char buffer[16] = {0};
    CHECK_RET("pread it back", pread(fd, buffer, 8, 0), 8);
    CHECK_STR("the same bytes", buffer, "nameless");

    SECTION("linkat gives it a name");
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    CHECK_ERR("linkat of the /proc link itself",
              linkat(AT_FDCWD, proc, AT_FDCWD, name, 0), EXDEV);
    CHECK_RET("linkat with AT_SYMLINK_FOLLOW",
              linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW), 0);
    CHECK_EQ("it has a link now", links_of(fd), 1);
    CHECK_EQ("the directory shows it", entries(base), 1);
    int named = open(name, O_RDONLY);
    CHECK("open it by name", named >= 0);
    memset(buffer, 0, sizeof buffer);
    CHECK_RET("read it by name", read(named, buffer, 8), 8);
    CHECK_STR("the same file", buffer, "nameless");
    close(named);
    CHECK_RET("a second name", linkat(AT_FDCWD, proc, AT_FDCWD, second,
                                      AT_SYMLINK_FOLLOW), 0);
    CHECK_EQ("two links", links_of(fd), 2);
    CHECK_ERR("a name that exists",
              linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW),
              EEXIST);
    CHECK_RET("close it", close(fd), 0);
    CHECK_RET("unlink the first name", unlink(name), 0);
    CHECK_RET("unlink the second", unlink(second), 0);

    SECTION("O_EXCL and unlinked files stay nameless");
    fd = open(base, O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    CHECK("open O_TMPFILE | O_EXCL", fd >= 0);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    CHECK_ERR("linkat of it",
              linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW),
              ENOENT);
    close(fd);
    fd = open(plain, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK("create a named file", fd >= 0);
    CHECK_RET("unlink it while open", unlink(plain), 0);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    CHECK_ERR("linkat of the unlinked file",
              linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW),
              ENOENT);
    close(fd);
    CHECK_EQ("the directory is empty again", entries(base), 0);

    SECTION("what O_TMPFILE refuses");
    CHECK_ERR("read-only", open(base, O_TMPFILE | O_RDONLY, 0600), EINVAL);
    CHECK_ERR("without O_DIRECTORY",
              open(base, (O_TMPFILE & ~O_DIRECTORY) | O_RDWR, 0600), EINVAL);
    fd = open(plain, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK_ERR("a regular file", open(plain, O_TMPFILE | O_RDWR, 0600),
              ENOTDIR);
    close(fd);
    unlink(plain);
    snprintf(name, sizeof name, "%s/missing", base);
    CHECK_ERR("a missing directory", open(name, O_TMPFILE | O_RDWR, 0600),
              ENOENT);
    CHECK_ERR("/proc", open("/proc", O_TMPFILE | O_RDWR, 0600), EOPNOTSUPP);

    CHECK_RET("rmdir the directory", rmdir(base), 0);
    return check_finish();
}
