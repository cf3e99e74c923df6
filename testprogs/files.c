/*
 * files: files and directories. Everything happens in a fresh directory
 * made with mkdtemp under /tmp and removed at the end; its name is
 * random and never printed. Covers open/openat flags (O_CREAT, O_EXCL,
 * O_TRUNC, O_APPEND, O_DIRECTORY), read/write/lseek/pread/pwrite on
 * regular files, fstat/stat/lstat, ftruncate, rename, link, symlink and
 * readlink, unlink, mkdir/rmdir, getdents64 through readdir, chdir and
 * getcwd, and the errors: ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY,
 * EBADF on a descriptor opened the wrong way.
 */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static char base[64];

static int names_in(const char *path, char names[][32], int max)
{
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        size_t length = strlen(entry->d_name);
        if (count < max && length < 32)
            memcpy(names[count], entry->d_name, length + 1);
        count++;
    }
    closedir(dir);
    /* Directory order is the filesystem's; sort for a stable answer. */
    for (int i = 1; i < count && i < max; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char swap[32];
            memcpy(swap, names[j], 32);
            memcpy(names[j], names[j - 1], 32);
            memcpy(names[j - 1], swap, 32);
        }
    return count;
}

static void regular_files(void)
{
    SECTION("creating and reading");
    int fd = open("data", O_CREAT | O_EXCL | O_RDWR, 0644);
    CHECK("open with O_CREAT | O_EXCL", fd >= 0);
    CHECK_ERR("O_EXCL on an existing file",
              open("data", O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
    CHECK_RET("write 10 bytes", write(fd, "0123456789", 10), 10);
    CHECK_RET("the offset is 10", lseek(fd, 0, SEEK_CUR), 10);
    CHECK_RET("lseek to 2", lseek(fd, 2, SEEK_SET), 2);
    char buffer[32] = {0};
    CHECK_RET("read 4", read(fd, buffer, 4), 4);
    CHECK_STR("the bytes at 2", buffer, "2345");
    CHECK_RET("lseek from the end", lseek(fd, -3, SEEK_END), 7);
    CHECK_RET("lseek past the end", lseek(fd, 20, SEEK_SET), 20);
    CHECK_RET("write past the end leaves a hole", write(fd, "x", 1), 1);
    struct stat st;
    CHECK_RET("fstat", fstat(fd, &st), 0);
    CHECK_EQ("a regular file", st.st_mode & S_IFMT, S_IFREG);
    CHECK_EQ("its size", st.st_size, 21);
    CHECK_EQ("its permissions", st.st_mode & 0777, 0644 & ~022);
    memset(buffer, 'z', sizeof buffer);
    CHECK_RET("pread of the hole", pread(fd, buffer, 5, 9), 5);
    CHECK("the hole reads as zeros",
          buffer[0] == '9' && buffer[1] == 0 && buffer[4] == 0);
    CHECK_RET("pwrite at 0", pwrite(fd, "AB", 2, 0), 2);
    CHECK_RET("pwrite left the offset alone", lseek(fd, 0, SEEK_CUR), 21);
    CHECK_RET("ftruncate to 4", ftruncate(fd, 4), 0);
    fstat(fd, &st);
    CHECK_EQ("the new size", st.st_size, 4);
    CHECK_RET("read at the old offset is end of file", read(fd, buffer, 4), 0);
    CHECK_ERR("lseek to a negative offset", lseek(fd, -100, SEEK_SET), EINVAL);
    CHECK_RET("close", close(fd), 0);

    SECTION("open flags");
    fd = open("data", O_RDONLY);
    CHECK_ERR("write to a read-only descriptor", write(fd, "x", 1), EBADF);
    CHECK_RET("read it whole", read(fd, buffer, sizeof buffer), 4);
    close(fd);
    fd = open("data", O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    CHECK_RET("write with O_APPEND", write(fd, "tail", 4), 4);
    CHECK_RET("it went to the end", lseek(fd, 0, SEEK_CUR), 8);
    CHECK_ERR("read from a write-only descriptor", read(fd, buffer, 1), EBADF);
    close(fd);
    fd = open("data", O_RDWR | O_TRUNC);
    fstat(fd, &st);
    CHECK_EQ("O_TRUNC empties it", st.st_size, 0);
    close(fd);
    CHECK_ERR("open of a missing file", open("missing", O_RDONLY), ENOENT);
    CHECK_ERR("O_DIRECTORY on a file", open("data", O_RDONLY | O_DIRECTORY),
              ENOTDIR);
    CHECK_ERR("a file used as a directory", open("data/x", O_RDONLY), ENOTDIR);
    CHECK_ERR("open with a bad path pointer",
              syscall(SYS_openat, AT_FDCWD, BAD_POINTER, O_RDONLY), EFAULT);
    CHECK_ERR("open of an empty path", open("", O_RDONLY), ENOENT);
}

static void names(void)
{
    SECTION("names");
    CHECK_RET("rename", rename("data", "renamed"), 0);
    CHECK_ERR("the old name is gone", access("data", F_OK), ENOENT);
    CHECK_RET("the new name exists", access("renamed", F_OK), 0);
    CHECK_RET("link", link("renamed", "hard"), 0);
    struct stat st;
    stat("renamed", &st);
    CHECK_EQ("two links now", st.st_nlink, 2);
    CHECK_RET("symlink", symlink("renamed", "soft"), 0);
    char target[64] = {0};
    CHECK_RET("readlink", readlink("soft", target, sizeof target), 7);
    CHECK_STR("the target", target, "renamed");
    struct stat lst;
    CHECK_RET("lstat of the link", lstat("soft", &lst), 0);
    CHECK_EQ("lstat sees a symlink", lst.st_mode & S_IFMT, S_IFLNK);
    CHECK_RET("stat follows it", stat("soft", &lst), 0);
    CHECK_EQ("to the same inode", lst.st_ino, st.st_ino);
    CHECK_ERR("readlink of a file", readlink("renamed", target, 64), EINVAL);
    CHECK_ERR("symlink onto an existing name", symlink("x", "hard"), EEXIST);
    CHECK_RET("unlink the hard link", unlink("hard"), 0);
    stat("renamed", &st);
    CHECK_EQ("one link left", st.st_nlink, 1);
    CHECK_ERR("unlink of a missing name", unlink("hard"), ENOENT);
}

static void directories(void)
{
    SECTION("directories");
    CHECK_RET("mkdir", mkdir("sub", 0755), 0);
    CHECK_ERR("mkdir of an existing name", mkdir("sub", 0755), EEXIST);
    int fd = open("sub/inner", O_CREAT | O_WRONLY, 0600);
    CHECK("create a file inside", fd >= 0);
    close(fd);
    CHECK_ERR("rmdir of a non-empty directory", rmdir("sub"), ENOTEMPTY);
    CHECK_ERR("unlink of a directory", unlink("sub"), EISDIR);
    CHECK_ERR("open a directory for writing", open("sub", O_WRONLY), EISDIR);
    char list[8][32];
    CHECK_EQ("readdir sees three names", names_in(".", list, 8), 3);
    CHECK_STR("first", list[0], "renamed");
    CHECK_STR("second", list[1], "soft");
    CHECK_STR("third", list[2], "sub");
    int dir = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK("open a directory", dir >= 0);
    fd = openat(dir, "inner", O_RDONLY);
    CHECK("openat relative to it", fd >= 0);
    close(fd);
    CHECK_RET("unlinkat", unlinkat(dir, "inner", 0), 0);
    close(dir);
    CHECK_RET("chdir into it", chdir("sub"), 0);
    char cwd[256];
    CHECK("getcwd", getcwd(cwd, sizeof cwd) != NULL);
    size_t length = strlen(cwd);
    CHECK("getcwd ends with /sub",
          length > 4 && strcmp(cwd + length - 4, "/sub") == 0);
    CHECK_RET("chdir ..", chdir(".."), 0);
    CHECK_RET("rmdir of the empty directory", rmdir("sub"), 0);
    CHECK_ERR("chdir to a file", chdir("renamed"), ENOTDIR);
    CHECK_ERR("getcwd into a tiny buffer", getcwd(cwd, 2) ? 0 : -1, ERANGE);
}

int main(void)
{
    snprintf(base, sizeof base, "/tmp/villa-files-XXXXXX");
    SECTION("setup");
    /* The permission checks below assume the usual mask. */
    CHECK("umask(022)", umask(022) >= 0);
    CHECK("mkdtemp under /tmp", mkdtemp(base) != NULL);
    CHECK_RET("chdir into it", chdir(base), 0);
    regular_files();
    names();
    directories();
    SECTION("cleanup");
    CHECK_RET("unlink", unlink("renamed") == 0 && unlink("soft") == 0, 1);
    CHECK_RET("chdir /", chdir("/"), 0);
    CHECK_RET("rmdir the test directory", rmdir(base), 0);
    return check_finish();
}
