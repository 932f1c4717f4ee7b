// basic's boot: entry.S gives us a stack and zeroed globals and calls main(),
// in M-mode, where basic stays.  Set up the devices, then hand the machine to
// the READY loop.

#include "basic.h"

// Entered from entry.S; never returns (BYE powers the board off).
void main(void)
{
    uart_init();        // console, receive interrupt
    plic_init();        // route UART IRQ to M-mode
    timer_init();       // time starts; no alarm
    trap_init();        // mtvec, mie, mstatus.MIE
    repl();             // READY.
}

// A broken invariant: say who and what, then stop the machine with failure.
void panic(const char *why)
{
    intr_off();
    print_newline();
    print("panic: ");
    print(why);
    putch('\n');
    power_off(1);
}

// The sifive_test finisher: PASS powers off, FAIL reports code 1.
void power_off(int failed)
{
    REG32(FINISHER_BASE) = failed ? (1u << 16) | FINISHER_FAIL : FINISHER_PASS;
    for (;;)
        ;
}
