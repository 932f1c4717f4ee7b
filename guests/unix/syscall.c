// System call dispatch: the number in a7 picks a handler; arguments are in
// a0..a5 of the trapframe; the handler's result goes back in a0.  Handlers that
// take user pointers check them through copyin/copyout (vm.c).

#include "proc.h"
#include "syscall.h"

static int sys_fork(void)    { return fork(); }
static int sys_exit(void)    { exit(myproc()->trapframe->a0); }
static int sys_wait(void)    { return wait(myproc()->trapframe->a0); }
static int sys_kill(void)    { return kill(myproc()->trapframe->a0); }
static int sys_getpid(void)  { return myproc()->pid; }
static int sys_uptime(void)  { return ticks; }

// sbrk(n): grow the heap by n bytes; the old end of memory, or -1.
static int sys_sbrk(void)
{
    uint32 old = myproc()->sz;
    return growproc(myproc()->trapframe->a0) < 0 ? -1 : (int)old;
}

// sleep(n): wait n clock ticks; -1 if killed meanwhile.
static int sys_sleep(void)
{
    uint32 n = myproc()->trapframe->a0, start = ticks;
    while (ticks - start < n) {
        if (killed(myproc()))
            return -1;
        sleep((void *)&ticks);
    }
    return 0;
}

// read(fd, buf, n) / write(fd, buf, n): only the console, on fds 0, 1 and 2.
static int sys_read(void)
{
    struct trapframe *tf = myproc()->trapframe;
    return tf->a0 == 0 ? consoleread(tf->a1, tf->a2) : -1;
}

static int sys_write(void)
{
    struct trapframe *tf = myproc()->trapframe;
    return tf->a0 == 1 || tf->a0 == 2 ? consolewrite(tf->a1, tf->a2) : -1;
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
