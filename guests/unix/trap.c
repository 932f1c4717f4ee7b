// Traps: how control arrives in the kernel and how it leaves.
//
// From U-mode: uservec (vectors.S) saves the user registers in the trapframe and
// calls usertrap(), which sorts the trap into a system call, a device interrupt
// or a fault; a fault kills the process with a message.  usertrapret() then goes
// back to user mode through userret.
// From S-mode: kernelvec calls kerneltrap().  The kernel only takes interrupts
// while the scheduler idles, so anything but an interrupt there is a kernel bug.

#include "proc.h"

extern char uservec[], kernelvec[];
extern void userret(struct trapframe *tf) __attribute__((noreturn));

void trapinithart(void)
{
    w_stvec((uint32)kernelvec);
}

static const char *fault_name(uint32 cause)
{
    switch (cause) {
    case 0: return "misaligned fetch";
    case CAUSE_INSN_ACCESS_FAULT: return "instruction access fault";
    case CAUSE_ILLEGAL_INSN: return "illegal instruction";
    case CAUSE_BREAKPOINT: return "breakpoint";
    case 4: return "misaligned load";
    case CAUSE_LOAD_ACCESS_FAULT: return "load access fault";
    case 6: return "misaligned store";
    case CAUSE_STORE_ACCESS_FAULT: return "store access fault";
    case CAUSE_INSN_PAGE_FAULT: return "instruction page fault";
    case CAUSE_LOAD_PAGE_FAULT: return "load page fault";
    case CAUSE_STORE_PAGE_FAULT: return "store page fault";
    default: return "unknown trap";
    }
}

// Serve a device interrupt if scause is one: 2 for a clock tick, 1 for another
// device, 0 if scause is not an interrupt we expect.
static int devintr(uint32 scause)
{
    if (scause == IRQ_S_SOFT) {             // timervec's forwarded timer interrupt
        sip_clear(MIP_SSIP);                // before clockintr re-arms the timer
        clockintr();
        return 2;
    }
    if (scause == IRQ_S_EXTERNAL) {
        int irq = plic_claim();
        if (irq == UART0_IRQ)
            uartintr();
        else if (irq == VIRTIO_NET_IRQ)
            netintr();
        else if (irq)
            printf("devintr: unexpected irq %d\n", irq);
        if (irq)
            plic_complete(irq);
        return 1;
    }
    return 0;
}

// Entered from uservec, on the process's kernel stack, interrupts off.
void usertrap(void)
{
    if (r_sstatus() & SSTATUS_SPP)
        panic("usertrap: not from user mode");
    w_stvec((uint32)kernelvec);             // traps from here on are the kernel's
    struct proc *p = myproc();
    uint32 scause = r_scause();

    int which = 0;
    if (scause == CAUSE_ECALL_FROM_U) {
        p->trapframe->epc += 4;             // return past the ecall
        if (!killed(p))
            syscall();
    } else if ((which = devintr(scause)) == 0) {
        printf("pid %d (%s): killed: %s at %p, pc %p\n", p->pid, p->name,
               fault_name(scause), r_stval(), p->trapframe->epc);
        setkilled(p);
    }
    if (killed(p))
        exit(-1);
    if (which == 2)
        yield();                            // a tick: the next process's turn
    usertrapret();
}

// Back to user mode at trapframe->epc with the saved registers.
void usertrapret(void)
{
    struct proc *p = myproc();
    intr_off();                             // no traps until we are in user mode
    w_stvec((uint32)uservec);
    w_sscratch((uint32)p->trapframe);
    uint32 s = r_sstatus();
    s &= ~SSTATUS_SPP;                      // sret goes to U-mode
    s |= SSTATUS_SPIE;                      // with interrupts on
    w_sstatus(s);
    w_sepc(p->trapframe->epc);
    userret(p->trapframe);
}

// Entered from kernelvec: an interrupt while the scheduler idled.
void kerneltrap(void)
{
    uint32 sepc = r_sepc(), sstatus = r_sstatus(), scause = r_scause();
    if (!(sstatus & SSTATUS_SPP))
        panic("kerneltrap: not from supervisor mode");
    if (devintr(scause) == 0) {
        printf("kerneltrap: %s at %p, pc %p\n", fault_name(scause), r_stval(), sepc);
        panic("kerneltrap: unexpected trap");
    }
    w_sepc(sepc);                           // a nested trap may have changed them
    w_sstatus(sstatus);
}
