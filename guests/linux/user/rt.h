// rt.h: our runtime for RV32 Linux programs, in place of a C library.
//
// The kernel's interface is its system calls: a number in a7, up to six
// arguments in a0..a5, `ecall`, and the result in a0 (a negative errno on
// failure, e.g. -2 for ENOENT).  The numbers, flags and structures come from the
// kernel's own UAPI headers (make headers_install), so they are exactly what this
// kernel expects.  Our wrappers pass errors on as they come: -errno, no global
// errno.
//
// RV32 Linux is a "time64" ABI: it has no system call that takes a 32-bit time_t,
// so there is no stat, wait4, lseek, nanosleep or gettimeofday.  We use statx,
// waitid, clock_nanosleep_time64, clock_gettime64 and ppoll_time64 instead.
#pragma once

#include <stdarg.h>             // gcc's freestanding headers
#include <stddef.h>
#include <stdint.h>

#include <asm/unistd.h>         // __NR_*: the system call numbers
#include <asm/ioctls.h>         // TIOCSCTTY, TIOCSPGRP, TCGETS
#include <asm/statfs.h>         // struct statfs64
#include <linux/errno.h>
#include <linux/fcntl.h>        // O_*, AT_FDCWD, AT_REMOVEDIR
#include <linux/icmp.h>
#include <linux/if.h>           // struct ifreq, IFF_UP
#include <linux/in.h>           // struct sockaddr_in, IPPROTO_*
#include <linux/mount.h>        // MS_*
#include <linux/poll.h>         // struct pollfd, POLLIN
#include <linux/reboot.h>       // LINUX_REBOOT_*
#include <linux/signal.h>       // SIG*, siginfo_t
#include <linux/sockios.h>      // SIOCSIFADDR, ...
#include <linux/stat.h>         // struct statx, S_IF*
#include <linux/sysinfo.h>
#include <linux/time.h>         // CLOCK_MONOTONIC
#include <linux/time_types.h>   // struct __kernel_timespec: 64-bit seconds
#include <linux/utsname.h>      // struct new_utsname
#include <linux/wait.h>         // P_PID, WEXITED, WNOHANG

typedef uint64_t u64;
typedef uint32_t u32;

// syslog(2)'s actions (the kernel keeps them in include/linux/syslog.h, not UAPI).
#define SYSLOG_ACTION_READ_ALL    3
#define SYSLOG_ACTION_SIZE_BUFFER 10

extern char **environ;          // set by main's caller (start.S passes envp)

// --- system calls (sys.c) ---
long syscall6(long n, long a, long b, long c, long d, long e, long f);
int read(int fd, void *buf, int n);
int write(int fd, const void *buf, int n);
int open(const char *path, int flags, int mode);
int close(int fd);
int dup2(int from, int to);
int fork(void);
int execve(const char *path, char *const argv[], char *const envp[]);
void exit(int status) __attribute__((noreturn));
int getpid(void);
int getppid(void);
int setsid(void);
int setpgid(int pid, int pgid);
int kill(int pid, int sig);
int ioctl(int fd, unsigned long req, void *arg);
int chdir(const char *path);
int getcwd(char *buf, int size);
int mkdir(const char *path, int mode);
int unlink(const char *path);
int rmdir(const char *path);
int readlink(const char *path, char *buf, int size);
int getdents64(int fd, void *buf, int size);
int statx(const char *path, int flags, struct statx *st);
int statfs64(const char *path, struct statfs64 *st);
int mount(const char *src, const char *dir, const char *type, unsigned long flags, const void *data);
int umount(const char *dir);
void sync(void);
int reboot(unsigned cmd);
int uname(struct new_utsname *u);
int sysinfo(struct sysinfo *si);
int syslog(int action, char *buf, int len);
int sethostname(const char *name, int len);
int sigaction_simple(int sig, __sighandler_t handler);   // set SIG_IGN or SIG_DFL
int clock_gettime(int clock, struct __kernel_timespec *ts);
int sleep_ns(u64 ns);
int poll(struct pollfd *fds, int n, int timeout_ms);
int socket(int domain, int type, int proto);
int bind(int fd, const void *addr, int len);
int setsockopt(int fd, int level, int name, const void *val, int len);
int sendto(int fd, const void *buf, int n, int flags, const void *to, int tolen);
int recvfrom(int fd, void *buf, int n, int flags, void *from, int *fromlen);

// waitid(2) for one child (pid > 0) or any (pid <= 0): 0 when `options` has
// WNOHANG and no child is ready, the child's pid, or -errno.
struct child_status {
    int how;                    // CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED
    int code;                   // the exit status, or the signal's number
};
int wait_child(int pid, int options, struct child_status *st);

// One linux_dirent64 (getdents64's record; the kernel has no UAPI struct for it).
struct dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;    // bytes to the next record
    unsigned char d_type;
    char d_name[];
};

// --- the C library we do have (lib.c) ---
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int atoi(const char *s);
int is_number(const char *s);
u64 udiv64(u64 n, u32 d, u32 *rem);      // n / d without libgcc's __udivdi3
const char *strerror(int err);           // err > 0: ENOENT, ...
void dprintf(int fd, const char *fmt, ...);
void printf(const char *fmt, ...);
int snprintf(char *buf, int size, const char *fmt, ...);
void vformat(void (*put)(void *, char), void *ctx, const char *fmt, va_list ap);
int read_file(const char *path, char *buf, int size);   // 0-terminated; bytes or -errno
int parse_ip(const char *s, uint32_t *ip);               // "A.B.C.D" to network order
const char *ip_string(uint32_t ip);                      // network order to "A.B.C.D"
void fail(const char *who, const char *what, int err) __attribute__((noreturn));
