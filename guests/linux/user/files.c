// files.c: echo, cat, ls, rm, mkdir, rmdir.
#include "box.h"

int echo_main(int argc, char **argv)
{
    int i = 1, newline = 1;
    if (argc > 1 && !strcmp(argv[1], "-n"))
        newline = 0, i++;
    for (int first = i; i < argc; i++)
        printf(i > first ? " %s" : "%s", argv[i]);
    if (newline)
        printf("\n");
    return 0;
}

// Copy fd to stdout; 0 or -errno.
static int copy_out(int fd)
{
    static char buf[4096];
    int n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (int done = 0, w; done < n; done += w)
            if ((w = write(1, buf + done, n - done)) < 0)
                return w;
    return n;
}

int cat_main(int argc, char **argv)
{
    int status = 0;
    if (argc == 1)
        return copy_out(0) < 0;
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY, 0), r = fd;
        if (fd >= 0) {
            r = copy_out(fd);
            close(fd);
        }
        if (r < 0) {
            dprintf(2, "cat: %s: %s\n", argv[i], strerror(-r));
            status = 1;
        }
    }
    return status;
}

// "drwxr-xr-x" from a mode (S_IF* type bits, then rwx for owner, group, others).
static const char *mode_string(unsigned mode)
{
    static char s[11];
    s[0] = S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : S_ISCHR(mode) ? 'c'
         : S_ISBLK(mode) ? 'b' : S_ISFIFO(mode) ? 'p' : S_ISSOCK(mode) ? 's' : '-';
    for (int i = 0; i < 9; i++)
        s[1 + i] = mode & (0400 >> i) ? "rwxrwxrwx"[i] : '-';
    s[10] = 0;
    return s;
}

// One line of `ls -l`: mode, size (or device numbers), name, and a link's target.
static void long_line(const char *path, const char *name)
{
    struct statx st;
    int r = statx(path, AT_SYMLINK_NOFOLLOW, &st);
    if (r < 0) {
        dprintf(2, "ls: %s: %s\n", path, strerror(-r));
        return;
    }
    if (S_ISCHR(st.stx_mode) || S_ISBLK(st.stx_mode))
        printf("%s %4u, %4u %s", mode_string(st.stx_mode), st.stx_rdev_major,
               st.stx_rdev_minor, name);
    else
        printf("%s %10llu %s", mode_string(st.stx_mode), st.stx_size, name);
    if (S_ISLNK(st.stx_mode)) {
        char target[256];
        int n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        printf(" -> %s", target);
    }
    printf("\n");
}

// List one directory: getdents64 fills a buffer with variable-length records
// (struct dirent64), d_reclen bytes each, until it returns 0 at the end.
static int list_dir(const char *dir, int longform)
{
    static char buf[4096];
    int fd = open(dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    int n;
    while ((n = getdents64(fd, buf, sizeof buf)) > 0) {
        for (int off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] == '.')
                continue;               // hidden, as ls does without -a
            if (longform) {
                char path[512];
                snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
                long_line(path, d->d_name);
            } else {
                printf("%s\n", d->d_name);
            }
        }
    }
    close(fd);
    return n;
}

int ls_main(int argc, char **argv)
{
    int longform = 0, status = 0, i = 1;
    if (argc > 1 && !strcmp(argv[1], "-l"))
        longform = 1, i++;
    int paths = argc - i;
    if (paths == 0)
        argv[--i] = ".", paths = 1;    // argv[i-1] is ours to reuse
    for (; i < argc; i++) {
        struct statx st;
        int r = statx(argv[i], 0, &st);
        if (r >= 0 && !S_ISDIR(st.stx_mode)) {
            if (longform)
                long_line(argv[i], argv[i]);
            else
                printf("%s\n", argv[i]);
            continue;
        }
        if (paths > 1)
            printf("%s:\n", argv[i]);
        if (r >= 0)
            r = list_dir(argv[i], longform);
        if (r < 0) {
            dprintf(2, "ls: %s: %s\n", argv[i], strerror(-r));
            status = 1;
        }
    }
    return status;
}

// rm, mkdir, rmdir: one system call per argument.
static int each(int argc, char **argv, int (*op)(const char *))
{
    int status = 0;
    if (argc < 2) {
        dprintf(2, "usage: %s NAME...\n", argv[0]);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        int r = op(argv[i]);
        if (r < 0) {
            dprintf(2, "%s: %s: %s\n", argv[0], argv[i], strerror(-r));
            status = 1;
        }
    }
    return status;
}

static int mkdir_755(const char *path) { return mkdir(path, 0755); }

int rm_main(int argc, char **argv) { return each(argc, argv, unlink); }
int mkdir_main(int argc, char **argv) { return each(argc, argv, mkdir_755); }
int rmdir_main(int argc, char **argv) { return each(argc, argv, rmdir); }
