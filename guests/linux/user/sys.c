// sys.c: the system call wrappers.  Each one is a number from <asm/unistd.h> and
// up to six arguments, passed by syscall6 in registers to `ecall`.
#include "rt.h"

char **environ;

long syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long a7 asm("a7") = n;
    register long a0 asm("a0") = a;
    register long a1 asm("a1") = b;
    register long a2 asm("a2") = c;
    register long a3 asm("a3") = d;
    register long a4 asm("a4") = e;
    register long a5 asm("a5") = f;
    asm volatile("ecall"
                 : "+r"(a0)
                 : "r"(a7), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5)
                 : "memory");
    return a0;
}

#define SYS(n, a, b, c, d, e, f) \
    syscall6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

int read(int fd, void *buf, int n) { return SYS(__NR_read, fd, buf, n, 0, 0, 0); }
int write(int fd, const void *buf, int n) { return SYS(__NR_write, fd, buf, n, 0, 0, 0); }
int close(int fd) { return SYS(__NR_close, fd, 0, 0, 0, 0, 0); }

// There is no open(2) on RV32, only openat: a path relative to a directory fd,
// AT_FDCWD meaning the current directory.
int open(const char *path, int flags, int mode)
{
    return SYS(__NR_openat, AT_FDCWD, path, flags, mode, 0, 0);
}

// dup3 is dup2 that refuses from == to (dup2 would do nothing then).
int dup2(int from, int to)
{
    return from == to ? to : SYS(__NR_dup3, from, to, 0, 0, 0, 0);
}

// fork is clone with only the signal to send the parent at exit: no flags to
// share anything, so the child gets a copy of everything.  The child returns
// from this very call with 0, the parent with the child's pid.
int fork(void) { return SYS(__NR_clone, SIGCHLD, 0, 0, 0, 0, 0); }

int execve(const char *path, char *const argv[], char *const envp[])
{
    return SYS(__NR_execve, path, argv, envp, 0, 0, 0);
}

// exit_group ends every thread of the process (plain exit ends only one).
void exit(int status)
{
    for (;;)
        SYS(__NR_exit_group, status, 0, 0, 0, 0, 0);
}

int getpid(void) { return SYS(__NR_getpid, 0, 0, 0, 0, 0, 0); }
int getppid(void) { return SYS(__NR_getppid, 0, 0, 0, 0, 0, 0); }
int setsid(void) { return SYS(__NR_setsid, 0, 0, 0, 0, 0, 0); }
int setpgid(int pid, int pgid) { return SYS(__NR_setpgid, pid, pgid, 0, 0, 0, 0); }
int kill(int pid, int sig) { return SYS(__NR_kill, pid, sig, 0, 0, 0, 0); }
int ioctl(int fd, unsigned long req, void *arg) { return SYS(__NR_ioctl, fd, req, arg, 0, 0, 0); }
int chdir(const char *path) { return SYS(__NR_chdir, path, 0, 0, 0, 0, 0); }
int getcwd(char *buf, int size) { return SYS(__NR_getcwd, buf, size, 0, 0, 0, 0); }
int mkdir(const char *path, int mode) { return SYS(__NR_mkdirat, AT_FDCWD, path, mode, 0, 0, 0); }
int unlink(const char *path) { return SYS(__NR_unlinkat, AT_FDCWD, path, 0, 0, 0, 0); }
int rmdir(const char *path) { return SYS(__NR_unlinkat, AT_FDCWD, path, AT_REMOVEDIR, 0, 0, 0); }
int readlink(const char *path, char *buf, int size)
{
    return SYS(__NR_readlinkat, AT_FDCWD, path, buf, size, 0, 0);
}
int getdents64(int fd, void *buf, int size) { return SYS(__NR_getdents64, fd, buf, size, 0, 0, 0); }

// statx: stat's successor, with 64-bit times and sizes; `flags` may hold
// AT_SYMLINK_NOFOLLOW.  We ask for the basic fields (mode, size, ...).
int statx(const char *path, int flags, struct statx *st)
{
    return SYS(__NR_statx, AT_FDCWD, path, flags, STATX_BASIC_STATS, st, 0);
}

int statfs64(const char *path, struct statfs64 *st)
{
    return SYS(__NR_statfs64, path, sizeof *st, st, 0, 0, 0);
}

int mount(const char *src, const char *dir, const char *type, unsigned long flags, const void *data)
{
    return SYS(__NR_mount, src, dir, type, flags, data, 0);
}
int umount(const char *dir) { return SYS(__NR_umount2, dir, 0, 0, 0, 0, 0); }
void sync(void) { SYS(__NR_sync, 0, 0, 0, 0, 0, 0); }

// reboot(2) wants two magic numbers first, so that a stray call does nothing.
int reboot(unsigned cmd)
{
    return SYS(__NR_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd, 0, 0, 0);
}

int uname(struct new_utsname *u) { return SYS(__NR_uname, u, 0, 0, 0, 0, 0); }
int sysinfo(struct sysinfo *si) { return SYS(__NR_sysinfo, si, 0, 0, 0, 0, 0); }
int syslog(int action, char *buf, int len) { return SYS(__NR_syslog, action, buf, len, 0, 0, 0); }
int sethostname(const char *name, int len) { return SYS(__NR_sethostname, name, len, 0, 0, 0, 0); }

// rt_sigaction takes the kernel's struct sigaction (handler, flags, mask: RISC-V
// has no sa_restorer) and the size of its signal set: 64 signals, 8 bytes.
int sigaction_simple(int sig, __sighandler_t handler)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    return SYS(__NR_rt_sigaction, sig, &sa, 0, 8, 0, 0);
}

int clock_gettime(int clock, struct __kernel_timespec *ts)
{
    return SYS(__NR_clock_gettime64, clock, ts, 0, 0, 0, 0);
}

// Sleep ns nanoseconds on the monotonic clock (flags 0: a relative time).
int sleep_ns(u64 ns)
{
    u32 rest;
    struct __kernel_timespec ts;
    ts.tv_sec = udiv64(ns, 1000000000, &rest);
    ts.tv_nsec = rest;
    return SYS(__NR_clock_nanosleep_time64, CLOCK_MONOTONIC, 0, &ts, 0, 0, 0);
}

// poll with a timeout in milliseconds (< 0: none), by ppoll_time64.
int poll(struct pollfd *fds, int n, int timeout_ms)
{
    struct __kernel_timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000};
    return SYS(__NR_ppoll_time64, fds, n, timeout_ms < 0 ? 0 : &ts, 0, 0, 0);
}

int socket(int domain, int type, int proto) { return SYS(__NR_socket, domain, type, proto, 0, 0, 0); }
int bind(int fd, const void *addr, int len) { return SYS(__NR_bind, fd, addr, len, 0, 0, 0); }
int setsockopt(int fd, int level, int name, const void *val, int len)
{
    return SYS(__NR_setsockopt, fd, level, name, val, len, 0);
}
int sendto(int fd, const void *buf, int n, int flags, const void *to, int tolen)
{
    return SYS(__NR_sendto, fd, buf, n, flags, to, tolen);
}
int recvfrom(int fd, void *buf, int n, int flags, void *from, int *fromlen)
{
    return SYS(__NR_recvfrom, fd, buf, n, flags, from, fromlen);
}

// waitid fills a siginfo_t: who (si_pid), how (si_code: CLD_EXITED, ...) and the
// status or signal (si_status).  With WNOHANG and nothing to report it returns 0
// and leaves si_pid 0, so we clear it first.  (wait4 does not exist on RV32.)
int wait_child(int pid, int options, struct child_status *st)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r = SYS(__NR_waitid, pid > 0 ? P_PID : P_ALL, pid > 0 ? pid : 0, &info, options, 0, 0);
    if (r < 0)
        return r;
    st->how = info.si_code;
    st->code = info.si_status;
    return info.si_pid;
}
