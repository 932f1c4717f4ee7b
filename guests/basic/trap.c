// Traps, all in M-mode.  entry.S's trapvec saves the registers and calls
// machine_trap().  The only traps basic expects are interrupts: the PLIC's
// (the UART) and the CLINT's (PAUSE's alarm).  Any exception is a bug in basic, as
// the interpreter checks what the user types, so it panics.

#include "basic.h"

extern char trapvec[];          // entry.S

void trap_init(void)
{
    w_mtvec((uint32)trapvec);   // direct mode: every trap to one entry
    w_mie(MIE_MEIE | MIE_MTIE);
    intr_on();
}

static void put_hex(uint32 n)
{
    print("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        putch("0123456789abcdef"[(n >> shift) & 0xf]);
}

void machine_trap(void)
{
    uint32 cause = r_mcause();

    if (cause == (CAUSE_INTERRUPT | IRQ_M_EXT)) {
        int irq = plic_claim();
        if (irq == UART0_IRQ)
            uart_intr();
        else if (irq != 0)
            panic("trap: interrupt from an unexpected PLIC source");
        if (irq != 0)
            plic_complete(irq);
    } else if (cause == (CAUSE_INTERRUPT | IRQ_M_TIMER)) {
        timer_intr();
    } else {
        print_newline();
        print("mcause ");
        put_hex(cause);
        print(" mepc ");
        put_hex(r_mepc());
        print(" mtval ");
        put_hex(r_mtval());
        putch('\n');
        panic("trap: unexpected exception");
    }
}
