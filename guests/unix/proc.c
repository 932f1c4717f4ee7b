// The process table, the scheduler and the process life cycle: fork, exit, wait,
// kill, sleep/wakeup.
//
// One hart, and the kernel runs with interrupts off except while the scheduler
// idles, so nothing here needs a lock: a kernel code path runs undisturbed until
// it sleeps or returns to user mode.  Preemption happens only at a clock tick
// taken from user mode (trap.c); the tick runs only while a process runs or
// waits for time (clock.c).

#include "proc.h"

static struct proc proc[NPROC];
static struct proc *current;            // the RUNNING process, or 0 in the scheduler
static struct context scheduler_context;
struct proc *initproc;
static int nextpid = 1;

extern void swtch(struct context *old, struct context *new);
extern pagetable_t kernel_pagetable;

struct proc *myproc(void)
{
    return current;
}

void procinit(void)
{
    for (struct proc *p = proc; p < &proc[NPROC]; p++)
        p->state = UNUSED;
}

static void forkret(void);

// Release everything a process owns and mark its slot UNUSED.
static void freeproc(struct proc *p)
{
    if (p->trapframe)
        kfree(p->trapframe);
    if (p->kstack)
        kfree(p->kstack);
    if (p->pagetable)
        uvmfree(p->pagetable, p->sz);
    memset(p, 0, sizeof *p);
    p->state = UNUSED;
}

// A fresh process in an UNUSED slot, with a trapframe, a kernel stack, an empty
// user page table and a context that starts at forkret; 0 if none is free.
static struct proc *allocproc(void)
{
    struct proc *p;
    for (p = proc; p < &proc[NPROC]; p++)
        if (p->state == UNUSED)
            break;
    if (p == &proc[NPROC])
        return 0;
    memset(p, 0, sizeof *p);
    p->pid = nextpid++;
    p->trapframe = kalloc();
    p->kstack = kalloc();
    p->pagetable = uvmcreate();
    p->state = SLEEPING;                // not runnable until the caller says so
    if (!p->trapframe || !p->kstack || !p->pagetable) {
        freeproc(p);
        return 0;
    }
    p->trapframe->kernel_sp = (uint32)p->kstack + PGSIZE;
    p->context.ra = (uint32)forkret;
    p->context.sp = (uint32)p->kstack + PGSIZE;
    return p;
}

// Make the first process; it will exec the shell (forkret).
void userinit(void)
{
    struct proc *p = allocproc();
    if (!p)
        panic("userinit: no memory");
    safestrcpy(p->name, "init", sizeof p->name);
    initproc = p;
    p->state = RUNNABLE;
}

// A new process's first return to user mode, from its first swtch().  The very
// first process execs the shell here, in process context, where exec can run.
static void forkret(void)
{
    static int first = 1;
    if (first) {
        first = 0;
        char *argv[] = {"sh", 0};
        int argc = exec("sh", argv);
        if (argc < 0)
            panic("forkret: cannot exec sh");
        current->trapframe->a0 = argc;
    }
    usertrapret();
}

// Copy the calling process; the child returns 0, the parent the child's pid.
int fork(void)
{
    struct proc *parent = current, *child = allocproc();
    if (!child)
        return -1;
    if (uvmcopy(parent->pagetable, child->pagetable, parent->sz) < 0) {
        freeproc(child);
        return -1;
    }
    child->sz = parent->sz;
    *child->trapframe = *parent->trapframe;
    child->trapframe->kernel_sp = (uint32)child->kstack + PGSIZE;
    child->trapframe->a0 = 0;
    child->parent = parent;
    safestrcpy(child->name, parent->name, sizeof child->name);
    memmove(child->ofile, parent->ofile, sizeof child->ofile);
    child->state = RUNNABLE;
    return child->pid;
}

// Grow (n > 0) or shrink user memory by n bytes; 0, or -1 if out of memory.
int growproc(int n)
{
    struct proc *p = current;
    uint32 sz = p->sz;
    if (n > 0) {
        if (sz + n < sz || (sz = uvmalloc(p->pagetable, sz, sz + n, PTE_R | PTE_W)) == 0)
            return -1;
    } else if (n < 0) {
        if ((uint32)-n > sz)
            return -1;
        sz = uvmdealloc(p->pagetable, sz, sz + n);
    }
    p->sz = sz;
    return 0;
}

// End the calling process: children go to init, the parent is woken, and the
// process stays a ZOMBIE until the parent's wait() frees it.
void exit(int status)
{
    struct proc *p = current;
    if (p == initproc)
        panic("exit: the shell (init) exited");
    udp_unbind(0, p->pid);                 // its UDP ports are free again
    for (struct proc *c = proc; c < &proc[NPROC]; c++)
        if (c->parent == p) {
            c->parent = initproc;
            wakeup(initproc);
        }
    wakeup(p->parent);
    p->xstate = status;
    p->state = ZOMBIE;
    sched();
    panic("exit: zombie ran");
}

// Wait for a child to exit and free it; its pid, with its status copied to user
// address status_addr unless that is 0; -1 if there are no children or the caller
// is killed.
int wait(uint32 status_addr)
{
    struct proc *p = current;
    for (;;) {
        int children = 0;
        for (struct proc *c = proc; c < &proc[NPROC]; c++) {
            if (c->parent != p || c->state == UNUSED)
                continue;
            children = 1;
            if (c->state == ZOMBIE) {
                int pid = c->pid;
                if (status_addr && copyout(p->pagetable, status_addr, &c->xstate, 4) < 0)
                    return -1;
                freeproc(c);
                return pid;
            }
        }
        if (!children || p->killed)
            return -1;
        sleep(p);                       // exit() wakes the parent
    }
}

// Ask process pid to exit when it next returns to user mode; 0, or -1 if none.
int kill(int pid)
{
    for (struct proc *p = proc; p < &proc[NPROC]; p++)
        if (p->pid == pid && p->state != UNUSED) {
            setkilled(p);
            return 0;
        }
    return -1;
}

// ctrl-C: kill every process but init (the shell), which owns the console and
// starts every job; the number killed.
int kill_console_jobs(void)
{
    int n = 0;
    for (struct proc *p = proc; p < &proc[NPROC]; p++)
        if (p != initproc && p->state != UNUSED && p->state != ZOMBIE && !p->killed) {
            setkilled(p);
            n++;
        }
    return n;
}

// Mark p killed and wake it if it sleeps, so it notices.
void setkilled(struct proc *p)
{
    p->killed = 1;
    if (p->state == SLEEPING)
        p->state = RUNNABLE;
}

int killed(struct proc *p)
{
    return p->killed;
}

// Give up the hart: back to the scheduler, which decides who runs next.  The
// caller has set current->state to something other than RUNNING.
void sched(void)
{
    struct proc *p = current;
    if (p->state == RUNNING)
        panic("sched: still running");
    if (r_sstatus() & SSTATUS_SIE)
        panic("sched: interruptible");
    swtch(&p->context, &scheduler_context);
}

// Let another process run (a clock tick from user mode).
void yield(void)
{
    current->state = RUNNABLE;
    sched();
}

// Sleep until wakeup(chan).  Interrupts are off, so no wakeup can slip in between
// the caller's check and the sleep.  May return early (kill); callers re-check.
void sleep(void *chan)
{
    current->chan = chan;
    current->state = SLEEPING;
    sched();
    current->chan = 0;
}

// Make every process sleeping on chan runnable.
void wakeup(void *chan)
{
    for (struct proc *p = proc; p < &proc[NPROC]; p++)
        if (p->state == SLEEPING && p->chan == chan)
            p->state = RUNNABLE;
}

// Whether any process sleeps on chan.
int sleeping_on(void *chan)
{
    for (struct proc *p = proc; p < &proc[NPROC]; p++)
        if (p->state == SLEEPING && p->chan == chan)
            return 1;
    return 0;
}

// Round robin over the table, forever.  A process runs on its own page table;
// the scheduler itself on the kernel's, so a zombie's table can be freed.
//
// With nothing to run, the hart sleeps in WFI until an interrupt is pending, and
// the clock tick stops unless someone waits for time (clock_idle).  Interrupts
// stay off from the scan through the WFI: WFI wakes on a pending interrupt that
// sie enables whatever sstatus.SIE says (privileged spec 3.3.3), so an interrupt
// arriving after the scan still ends it and is taken just after.  Were they on,
// one could be taken between the scan and the WFI, make a process runnable, and
// leave the hart asleep with the tick stopped and no further interrupt to come.
void scheduler(void)
{
    struct proc *next = proc;
    for (;;) {
        struct proc *p = 0;
        for (int i = 0; i < NPROC; i++) {
            struct proc *q = &proc[(next - proc + i) % NPROC];
            if (q->state == RUNNABLE) {
                p = q;
                break;
            }
        }
        if (!p) {
            clock_idle();
            asm volatile("wfi");
            intr_on();                  // take the interrupt that ended the WFI
            intr_off();
            continue;
        }
        clock_busy();                   // a running process needs the tick
        next = p + 1 == &proc[NPROC] ? proc : p + 1;
        p->state = RUNNING;
        current = p;
        w_satp(MAKE_SATP(p->pagetable));
        sfence_vma();
        swtch(&scheduler_context, &p->context);
        w_satp(MAKE_SATP(kernel_pagetable));
        sfence_vma();
        current = 0;
    }
}

// Fill out[0..max) with the live processes, for ps; how many.
int procs_snapshot(struct procinfo *out, int max)
{
    int n = 0;
    for (struct proc *p = proc; p < &proc[NPROC] && n < max; p++) {
        if (p->state == UNUSED)
            continue;
        out[n].pid = p->pid;
        out[n].ppid = p->parent ? p->parent->pid : 0;
        out[n].state = p->state;
        out[n].sz = p->sz;
        safestrcpy(out[n].name, p->name, sizeof out[n].name);
        n++;
    }
    return n;
}

// Whether any process has inode inum open (so unlink must refuse to free it).
int file_is_open(uint32 inum)
{
    for (struct proc *p = proc; p < &proc[NPROC]; p++)
        for (int i = 0; p->state != UNUSED && i < NOFILE; i++)
            if (p->ofile[i].inum == inum)
                return 1;
    return 0;
}
