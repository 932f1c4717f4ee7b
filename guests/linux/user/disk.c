// disk.c: mount, umount, df, sync, poweroff, reboot.
#include "box.h"

static int cat_file(const char *path)
{
    static char buf[4096];
    int n = read_file(path, buf, sizeof buf);
    if (n < 0)
        fail("mount", path, n);
    write(1, buf, n);
    return 0;
}

// mount with no arguments prints the kernel's table of mounts, /proc/mounts.
// mount [-t TYPE] [-r] DEV DIR: mount(2) takes the source (a device, or any
// name for proc/sysfs/tmpfs), the directory, the file system's type (which the
// kernel does not guess: we default to ext2, our disks' type) and flags.
int mount_main(int argc, char **argv)
{
    const char *type = "ext2";
    unsigned long flags = 0;
    int i = 1;
    if (argc == 1)
        return cat_file("/proc/mounts");
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc)
            type = argv[++i];
        else if (!strcmp(argv[i], "-r"))
            flags |= MS_RDONLY;
        else
            break;
    }
    if (argc - i != 2) {
        dprintf(2, "usage: mount [-t TYPE] [-r] DEVICE DIR\n");
        return 1;
    }
    int r = mount(argv[i], argv[i + 1], type, flags, 0);
    if (r < 0)
        fail("mount", argv[i], r);
    return 0;
}

int umount_main(int argc, char **argv)
{
    if (argc != 2) {
        dprintf(2, "usage: umount DIR\n");
        return 1;
    }
    int r = umount(argv[1]);
    if (r < 0)
        fail("umount", argv[1], r);
    return 0;
}

// One line of df: statfs64 counts blocks of f_bsize bytes (64-bit counts).
static int df_line(const char *dev, const char *dir, int always)
{
    struct statfs64 st;
    int r = statfs64(dir, &st);
    if (r < 0) {
        dprintf(2, "df: %s: %s\n", dir, strerror(-r));
        return 1;
    }
    if (st.f_blocks == 0 && !always)
        return 0;                       // proc, sysfs: no blocks to speak of
    u64 total = (st.f_blocks * st.f_bsize) >> 10, avail = (st.f_bavail * st.f_bsize) >> 10;
    u64 used = ((st.f_blocks - st.f_bfree) * st.f_bsize) >> 10;
    printf("%-12s %10llu %10llu %10llu %s\n", dev, total, used, avail, dir);
    return 0;
}

// df [DIR...]: the space on the given file systems, or on every mounted one
// (from /proc/mounts: "DEVICE DIR TYPE OPTIONS 0 0" a line).
int df_main(int argc, char **argv)
{
    static char mounts[4096];
    int status = 0;
    printf("%-12s %10s %10s %10s %s\n", "Filesystem", "1K-blocks", "Used", "Available",
           "Mounted on");
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            status |= df_line(argv[i], argv[i], 1);
        return status;
    }
    if (read_file("/proc/mounts", mounts, sizeof mounts) < 0)
        fail("df", "/proc/mounts", -ENOENT);
    for (char *line = mounts; *line;) {
        char *end = strchr(line, '\n'), *dev = line, *dir = strchr(line, ' ');
        if (end)
            *end = 0;
        if (dir) {
            *dir++ = 0;
            char *space = strchr(dir, ' ');
            if (space)
                *space = 0;
            status |= df_line(dev, dir, 0);
        }
        line = end ? end + 1 : line + strlen(line);
    }
    return status;
}

int sync_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    sync();
    return 0;
}

// poweroff and reboot: write everything cached to the disks, then ask the kernel
// (reboot(2)) to switch off or restart.  The kernel does not unmount for us, but
// after sync an ext2 disk is consistent enough to be mounted again.
static int shut_down(unsigned cmd, const char *who)
{
    sync();
    int r = reboot(cmd);
    fail(who, "reboot", r);
}

int poweroff_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    return shut_down(LINUX_REBOOT_CMD_POWER_OFF, "poweroff");
}

int reboot_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    return shut_down(LINUX_REBOOT_CMD_RESTART, "reboot");
}
