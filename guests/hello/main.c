// hello: print one line on the UART, then power the machine off.
// The shortest complete guest: read this first.

#include "memlayout.h"

#define UART_THR  0                 // NS16550A transmit holding register
#define UART_LSR  5                 // line status register
#define LSR_THRE  0x20              // THR empty: ready for the next byte

#define REG8(a)   (*(volatile unsigned char *)(a))
#define REG32(a)  (*(volatile unsigned int *)(a))

// Send one byte once the UART can take it (polled; no interrupts, no setup:
// QEMU's UART and ours start ready to transmit).
static void uart_putc(char c)
{
    while ((REG8(UART0_BASE + UART_LSR) & LSR_THRE) == 0)
        ;
    REG8(UART0_BASE + UART_THR) = c;
}

void main(void)
{
    for (const char *s = "Hello from hello, a tuivmm guest!\n"; *s; s++)
        uart_putc(*s);
    REG32(FINISHER_BASE) = FINISHER_PASS;   // power off, status 0
    for (;;)
        ;
}
