// init: the first process (PID 1), which the kernel starts as /init from the
// initramfs, its stdin, stdout and stderr already open on /dev/console.
//
//   1. mount the kernel's virtual file systems: proc, sysfs, devtmpfs, tmpfs
//   2. name the machine, bring up lo and eth0 (10.0.0.N, N the MAC's last byte)
//   3. mount the disk, /dev/vda, on /mnt if there is one
//   4. run the shell on the serial terminal, again whenever it exits, and reap
//      every orphan: the kernel makes PID 1 the parent of processes whose
//      parent died, and a dead child stays a zombie until its parent waits.
//
// PID 1 must never exit: the kernel panics if it does.
#include "box.h"

static const char *const console = "/dev/ttyS0";   // the UART, as the kernel names it

static void mount_fs(const char *type, const char *dir)
{
    int r = mount(type, dir, type, 0, 0);   // the source is only a name here
    if (r < 0)
        dprintf(2, "init: mount %s on %s: %s\n", type, dir, strerror(-r));
}

// Network interfaces are configured by ioctls on any socket, here an AF_INET
// datagram one; struct ifreq names the interface and carries one value.
static int set_addr(int fd, const char *name, unsigned long req, uint32_t addr)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strlen(name) + 1);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = addr;        // SIOCSIFADDR, SIOCSIFNETMASK
    return ioctl(fd, req, &ifr);
}

// Bring an interface up: its flags, with IFF_UP added (SIOCSIFFLAGS sets them
// all, so we read them first).
static int set_up(int fd, const char *name)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strlen(name) + 1);
    int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (r < 0)
        return r;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

// The MAC's last byte from sysfs ("52:54:00:00:00:01\n"): 1..254, or 0.
static int mac_last_byte(void)
{
    char mac[32];
    if (read_file("/sys/class/net/eth0/address", mac, sizeof mac) < 17)
        return 0;
    int v = 0;
    for (int i = 15; i < 17; i++) {
        char c = mac[i];
        v = v * 16 + (c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
    }
    return v > 0 && v < 255 ? v : 0;
}

static void network(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        dprintf(2, "init: no sockets: %s\n", strerror(-fd));
        return;
    }
    set_up(fd, "lo");                   // lo has 127.0.0.1 already
    int n = mac_last_byte();
    if (n == 0) {
        printf("init: no network card\n");
    } else {
        // Setting the address and bringing eth0 up makes the kernel add the
        // route to 10.0.0.0/24 itself.
        uint32_t ip = 10 | n << 24, mask = 0x00ffffff;  // network byte order
        int r = set_addr(fd, "eth0", SIOCSIFADDR, ip);
        if (r >= 0)
            r = set_addr(fd, "eth0", SIOCSIFNETMASK, mask);
        if (r >= 0)
            r = set_up(fd, "eth0");
        if (r < 0)
            printf("init: eth0: %s\n", strerror(-r));
        else
            printf("init: eth0 is 10.0.0.%d\n", n);
    }
    close(fd);
}

static void disk(void)
{
    struct statx st;
    if (statx("/dev/vda", 0, &st) < 0) {
        printf("init: no disk\n");
        return;
    }
    int r = mount("/dev/vda", "/mnt", "ext2", 0, 0);
    if (r < 0)
        printf("init: mount /dev/vda on /mnt (ext2): %s\n", strerror(-r));
    else
        printf("init: /dev/vda mounted on /mnt\n");
}

// Start the shell in a new session (setsid), whose controlling terminal is the
// first terminal it opens... unless it is opened with O_NOCTTY or is
// /dev/console: so we ask for it, with TIOCSCTTY.  Then the terminal's ctrl-C
// and ctrl-Z reach the session's foreground process group.
static int spawn_shell(void)
{
    int pid = fork();
    if (pid != 0)
        return pid;
    setsid();
    int fd = open(console, O_RDWR, 0);
    if (fd < 0)
        fd = open("/dev/console", O_RDWR, 0);
    if (fd >= 0) {
        ioctl(fd, TIOCSCTTY, (void *)1);   // 1: take it even from another session
        dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    static char *argv[] = {"sh", 0};
    static char *envp[] = {"PATH=/bin", "HOME=/", "TERM=vt100", 0};
    chdir("/");
    int r = execve("/bin/sh", argv, envp);
    dprintf(2, "init: /bin/sh: %s\n", strerror(-r));
    exit(127);
}

int init_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    mount_fs("proc", "/proc");
    mount_fs("sysfs", "/sys");
    mount_fs("devtmpfs", "/dev");
    mount_fs("tmpfs", "/tmp");
    sethostname("linux", 5);
    network();
    disk();
    for (;;) {
        int shell = spawn_shell();
        if (shell < 0) {
            dprintf(2, "init: fork: %s\n", strerror(-shell));
            sleep_ns(1000000000);
            continue;
        }
        // Wait for any child; the shell's end means a new shell.
        struct child_status st;
        int pid;
        while ((pid = wait_child(0, WEXITED, &st)) != shell)
            if (pid < 0 && pid != -EINTR)
                sleep_ns(100000000);    // should not happen: the shell is ours
        printf("init: the shell exited; starting another\n");
        sleep_ns(200000000);            // if it dies at once, not a busy loop
    }
}
