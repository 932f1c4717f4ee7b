// Processes: the saved registers of a switch and of a trap, and the process table.
#pragma once

#include "defs.h"

// Callee-saved registers, for swtch.S: where a kernel thread stopped.
struct context {
    uint32 ra, sp;
    uint32 s[12];
};

// A process's user registers while it is in the kernel, saved by uservec
// (vectors.S): x1..x31 at byte offset 4*n (x0 is a placeholder), then the user
// pc and the top of the kernel stack uservec switches to.
struct trapframe {
    uint32 zero, ra, sp, gp, tp, t0, t1, t2, s0, s1;
    uint32 a0, a1, a2, a3, a4, a5, a6, a7;
    uint32 s2, s3, s4, s5, s6, s7, s8, s9, s10, s11;
    uint32 t3, t4, t5, t6;
    uint32 epc;                 // offset 128
    uint32 kernel_sp;           // offset 132
};

// An open file: which inode, and where the next read or write starts.  fd 3 + i
// is ofile[i] (fds 0..2 are the console); inum 0 marks a closed slot.  fork copies
// the table, so parent and child then move their offsets separately.
#define NOFILE 8
#define FD_FIRSTFILE 3
struct ofile {
    uint32 inum;
    uint32 off;
};

enum procstate { UNUSED, SLEEPING, RUNNABLE, RUNNING, ZOMBIE };

struct proc {
    enum procstate state;
    int pid;
    int killed;                 // exit at the next return to user mode
    int xstate;                 // exit status, for the parent's wait()
    void *chan;                 // what a SLEEPING process waits for
    struct proc *parent;
    uint32 sz;                  // user memory is [0, sz)
    pagetable_t pagetable;
    struct trapframe *trapframe;  // a kalloc'd page
    uint8 *kstack;              // a kalloc'd page; no guard page below it
    struct context context;     // swtch() here to run the process
    char name[16];
    struct ofile ofile[NOFILE]; // open files, fd 3 up
};

// What ps sees of a process (the procs system call); user/user.h has a twin.
struct procinfo {
    int pid;
    int ppid;
    int state;                  // enum procstate
    uint32 sz;
    char name[16];
};
