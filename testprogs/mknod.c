/*
 * mknod: mknod(2) and mknodat(2) make regular files (S_IFREG or no
 * type), FIFOs, socket nodes and character device nodes that open the
 * device they name (here null and zero); a directory type is EPERM, an
 * unknown type EINVAL, an existing name EEXIST. Works in a directory made
 * with mkdtemp under /tmp, removed at the end.
 */
#include "check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static int type_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (int)(st.st_mode & S_IFMT) : -1;
}

int main(void)
{
    umask(022);
    char base[] = "/tmp/villa-mknod-XXXXXX";
    CHECK("mkdtemp under /tmp", mkdtemp(base) != NULL);
    char path[64];
    struct stat st;

    SECTION("regular files");
    snprintf(path, sizeof path, "%s/regular", base);
    CHECK_RET("mknod S_IFREG", mknod(path, S_IFREG | 0644, 0), 0);
    CHECK_EQ("it is a regular file", type_of(path), S_IFREG);
    CHECK_RET("stat it", stat(path, &st), 0);
    CHECK_EQ("empty", st.st_size, 0);
    CHECK_EQ("with the mode less the umask", st.st_mode & 07777, 0644);
    CHECK_ERR("mknod over it", mknod(path, S_IFREG | 0644, 0), EEXIST);
    CHECK_RET("unlink it", unlink(path), 0);
    int dir = open(base, O_RDONLY | O_DIRECTORY);
    CHECK_RET("mknodat with no type", mknodat(dir, "plain", 0666, 0), 0);
    snprintf(path, sizeof path, "%s/plain", base);
    CHECK_EQ("is a regular file too", type_of(path), S_IFREG);
    CHECK_RET("stat it", stat(path, &st), 0);
    CHECK_EQ("with 0666 less the umask", st.st_mode & 07777, 0644);
    CHECK_RET("unlink it", unlink(path), 0);

    SECTION("FIFOs and sockets");
    CHECK_RET("mknodat S_IFIFO", mknodat(dir, "fifo", S_IFIFO | 0600, 0), 0);
    snprintf(path, sizeof path, "%s/fifo", base);
    CHECK_EQ("it is a FIFO", type_of(path), S_IFIFO);
    int fifo = open(path, O_RDWR);
    CHECK("open it read-write", fifo >= 0);
    CHECK_RET("write into it", write(fifo, "ab", 2), 2);
    char buffer[4] = {0};
    CHECK_RET("read from it", read(fifo, buffer, 2), 2);
    CHECK_STR("what was written", buffer, "ab");
    close(fifo);
    CHECK_RET("unlink it", unlink(path), 0);
    CHECK_RET("mknodat S_IFSOCK", mknodat(dir, "sock", S_IFSOCK | 0600, 0),
              0);
    snprintf(path, sizeof path, "%s/sock", base);
    CHECK_EQ("it is a socket node", type_of(path), S_IFSOCK);
    CHECK_RET("unlink it", unlink(path), 0);

    SECTION("character devices");
    CHECK_RET("mknodat /dev/null's numbers",
              mknodat(dir, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
    snprintf(path, sizeof path, "%s/null", base);
    CHECK_RET("stat it", stat(path, &st), 0);
    CHECK("it is a character device", S_ISCHR(st.st_mode));
    CHECK_EQ("major 1", major(st.st_rdev), 1);
    CHECK_EQ("minor 3", minor(st.st_rdev), 3);
    int null = open(path, O_RDWR);
    CHECK("open it", null >= 0);
    CHECK_RET("writes vanish", write(null, "gone", 4), 4);
    CHECK_RET("reads end at once", read(null, buffer, 4), 0);
    close(null);
    CHECK_RET("unlink it", unlink(path), 0);
    CHECK_RET("mknodat /dev/zero's numbers",
              mknodat(dir, "zero", S_IFCHR | 0666, makedev(1, 5)), 0);
    snprintf(path, sizeof path, "%s/zero", base);
    int zero = open(path, O_RDONLY);
    memset(buffer, 7, sizeof buffer);
    CHECK_RET("read from it", read(zero, buffer, 4), 4);
    CHECK_MEM("zeroes", buffer, "\0\0\0\0", 4);
    close(zero);
    CHECK_RET("unlink it", unlink(path), 0);

    SECTION("what mknod refuses");
    CHECK_ERR("S_IFDIR", mknodat(dir, "dir", S_IFDIR | 0755, 0), EPERM);
    CHECK_ERR("an unknown type", mknodat(dir, "odd", 0110000 | 0644, 0),
              EINVAL);
    CHECK_ERR("a missing parent", mknodat(dir, "no/such", S_IFREG, 0),
              ENOENT);
    close(dir);

    CHECK_RET("rmdir the directory", rmdir(base), 0);
    return check_finish();
}
