// System call dispatch: the number in a7 picks a handler; arguments are in
// a0..a5 of the trapframe; the handler's result goes back in a0.  Handlers that
// take user pointers check them through copyin/copyout (vm.c).

#include "proc.h"
#include "syscall.h"
#include "fs.h"

static int sys_fork(void)    { return fork(); }
static int sys_exit(void)    { exit(myproc()->trapframe->a0); }
static int sys_wait(void)    { return wait(myproc()->trapframe->a0); }
static int sys_kill(void)    { return kill(myproc()->trapframe->a0); }
static int sys_getpid(void)  { return myproc()->pid; }
static int sys_uptime(void)  { return clock_ticks(); }

// sbrk(n): grow the heap by n bytes; the old end of memory, or -1.
static int sys_sbrk(void)
{
    uint32 old = myproc()->sz;
    return growproc(myproc()->trapframe->a0) < 0 ? -1 : (int)old;
}

// sleep(n): wait n clock ticks; -1 if killed meanwhile.
static int sys_sleep(void)
{
    uint32 n = myproc()->trapframe->a0, start = clock_ticks();
    while (clock_ticks() - start < n) {
        if (killed(myproc()))
            return -1;
        clock_sleep();
    }
    return 0;
}

// The open file fd names in the calling process, or 0.
static struct ofile *fdfile(uint32 fd)
{
    if (fd < FD_FIRSTFILE || fd >= FD_FIRSTFILE + NOFILE)
        return 0;
    struct ofile *f = &myproc()->ofile[fd - FD_FIRSTFILE];
    return f->inum ? f : 0;
}

// read(fd, buf, n) / write(fd, buf, n): the console on fds 0, 1 and 2, else a file.
static int sys_read(void)
{
    struct trapframe *tf = myproc()->trapframe;
    if (tf->a0 == 0)
        return consoleread(tf->a1, tf->a2);
    struct ofile *f = fdfile(tf->a0);
    int n = f ? fs_read(f->inum, 1, tf->a1, f->off, tf->a2) : -1;
    if (n > 0)
        f->off += n;
    return n;
}

static int sys_write(void)
{
    struct trapframe *tf = myproc()->trapframe;
    if (tf->a0 == 1 || tf->a0 == 2)
        return consolewrite(tf->a1, tf->a2);
    struct ofile *f = fdfile(tf->a0);
    int n = f ? fs_write(f->inum, 1, tf->a1, f->off, tf->a2) : -1;
    if (n > 0)
        f->off += n;
    return n;
}

// open(name, flags): see syscall.h.
static int sys_open(void)
{
    struct proc *p = myproc();
    char name[DIRSIZ + 2];
    if (copyinstr(p->pagetable, name, p->trapframe->a0, sizeof name) < 0)
        return -1;
    int fd;
    for (fd = 0; fd < NOFILE && p->ofile[fd].inum; fd++)
        ;
    uint32 flags = p->trapframe->a1;
    int inum = fd < NOFILE ? fs_open(name, flags & O_CREATE) : -1;
    if (inum < 0)
        return inum;
    int r = flags & O_TRUNC ? fs_truncate(inum) : 0;
    if (r < 0)
        return r;
    p->ofile[fd] = (struct ofile){inum, 0};
    return FD_FIRSTFILE + fd;
}

static int sys_close(void)
{
    struct ofile *f = fdfile(myproc()->trapframe->a0);
    if (!f)
        return -1;
    f->inum = 0;
    return 0;
}

// unlink(name): refused while any process has the file open.
static int sys_unlink(void)
{
    char name[DIRSIZ + 2];
    if (copyinstr(myproc()->pagetable, name, myproc()->trapframe->a0, sizeof name) < 0)
        return -1;
    int inum = fs_open(name, 0);
    if (inum < 0 || file_is_open(inum))
        return -1;
    return fs_unlink(name);
}

// listdir(i, buf): buf gets a struct dirinfo (user.h): name[DIRSIZ + 2], size.
static int sys_listdir(void)
{
    struct { char name[DIRSIZ + 2]; uint32 size; } info;
    struct trapframe *tf = myproc()->trapframe;
    memset(&info, 0, sizeof info);
    int r = fs_listdir(tf->a0, info.name, &info.size);
    if (r == 1 && copyout(myproc()->pagetable, tf->a1, &info, sizeof info) < 0)
        return -1;
    return r;
}

// exec(name, argv): replace this program; argv is a user array of string
// pointers ending in 0.  Does not return on success (argc goes back in a0).
static int sys_exec(void)
{
    static char names[MAXARG][64];          // one hart, no preemption in the kernel
    char *argv[MAXARG + 1];
    char name[32];
    struct proc *p = myproc();
    if (copyinstr(p->pagetable, name, p->trapframe->a0, sizeof name) < 0)
        return -1;
    int i;
    for (i = 0;; i++) {
        uint32 uarg;
        if (i == MAXARG || copyin(p->pagetable, &uarg, p->trapframe->a1 + 4 * i, 4) < 0)
            return -1;
        if (uarg == 0)
            break;
        if (copyinstr(p->pagetable, names[i], uarg, sizeof names[i]) < 0)
            return -1;
        argv[i] = names[i];
    }
    argv[i] = 0;
    return exec(name, argv);
}

// procs(buf, max): copy up to max struct procinfo to buf; how many.
static int sys_procs(void)
{
    static struct procinfo info[NPROC];
    struct trapframe *tf = myproc()->trapframe;
    int max = (int)tf->a1 < NPROC ? (int)tf->a1 : NPROC;
    int n = procs_snapshot(info, max);
    if (copyout(myproc()->pagetable, tf->a0, info, n * sizeof info[0]) < 0)
        return -1;
    return n;
}

// meminfo(buf): buf[0] = free pages, buf[1] = all pages the allocator manages.
static int sys_meminfo(void)
{
    uint32 counts[2] = {kfree_count(), ktotal_count()};
    return copyout(myproc()->pagetable, myproc()->trapframe->a0, counts, sizeof counts);
}

// ping(ip, seq): see syscall.h.
static int sys_ping(void)
{
    return net_ping(myproc()->trapframe->a0, myproc()->trapframe->a1);
}

// udpbind, udpclose, udpsend, udprecv: see syscall.h.
static int sys_udpbind(void)  { return udp_bind(myproc()->trapframe->a0, myproc()->pid); }
static int sys_udpclose(void)
{
    uint32 port = myproc()->trapframe->a0;  // 0 would mean all of them to udp_unbind
    return port ? udp_unbind(port, myproc()->pid) : -1;
}

static int sys_udpsend(void)
{
    struct proc *p = myproc();
    struct trapframe *tf = p->trapframe;
    uint8 data[UDP_MAX];
    if (tf->a4 > UDP_MAX || copyin(p->pagetable, data, tf->a3, tf->a4) < 0)
        return -1;
    return udp_send(tf->a0, tf->a1, tf->a2, data, tf->a4, p->pid);
}

static int sys_udprecv(void)
{
    static struct datagram d;               // filled and copied out without sleeping
    struct proc *p = myproc();
    struct trapframe *tf = p->trapframe;
    int r = udp_recv(tf->a0, p->pid, &d, tf->a4);
    if (r < 0)
        return r;
    uint32 from[2] = {d.ip, d.port};
    uint32 n = d.len < tf->a2 ? d.len : tf->a2;
    if (copyout(p->pagetable, tf->a1, d.data, n) < 0 ||
        (tf->a3 && copyout(p->pagetable, tf->a3, from, sizeof from) < 0))
        return -1;
    return d.len;
}

// shutdown(): power the machine off, successfully.
static int sys_shutdown(void)
{
    printf("unix: power off\n");
    poweroff(FINISHER_PASS);
}

static int (*const syscalls[])(void) = {
    [SYS_fork] = sys_fork,       [SYS_exit] = sys_exit,     [SYS_wait] = sys_wait,
    [SYS_kill] = sys_kill,       [SYS_getpid] = sys_getpid, [SYS_sbrk] = sys_sbrk,
    [SYS_sleep] = sys_sleep,     [SYS_uptime] = sys_uptime, [SYS_read] = sys_read,
    [SYS_write] = sys_write,     [SYS_exec] = sys_exec,     [SYS_procs] = sys_procs,
    [SYS_meminfo] = sys_meminfo, [SYS_shutdown] = sys_shutdown,
    [SYS_open] = sys_open,       [SYS_close] = sys_close,   [SYS_unlink] = sys_unlink,
    [SYS_listdir] = sys_listdir, [SYS_ping] = sys_ping,
    [SYS_udpbind] = sys_udpbind, [SYS_udpclose] = sys_udpclose,
    [SYS_udpsend] = sys_udpsend, [SYS_udprecv] = sys_udprecv,
};

// Run the system call the process asked for (trapframe a7).
void syscall(void)
{
    struct trapframe *tf = myproc()->trapframe;
    uint32 num = tf->a7;
    if (num < sizeof syscalls / sizeof syscalls[0] && syscalls[num]) {
        tf->a0 = syscalls[num]();
    } else {
        printf("pid %d (%s): unknown system call %d\n", myproc()->pid, myproc()->name, num);
        tf->a0 = -1;
    }
}
