// Polled output on the NS16550A UART (no setup needed on QEMU or tuivmm), and
// the finisher that powers the machine off.  A few hundred instructions a
// program: the answer's line, nothing else.

#include "memlayout.h"
#include "bench.h"

#define UART_THR 0                  // transmit holding register
#define UART_LSR 5                  // line status register
#define LSR_THRE 0x20               // THR empty: ready for the next byte

#define REG8(a)  (*(volatile unsigned char *)(a))
#define REG32(a) (*(volatile unsigned int *)(a))

static void uart_putc(char c)
{
    while ((REG8(UART0_BASE + UART_LSR) & LSR_THRE) == 0)
        ;
    REG8(UART0_BASE + UART_THR) = c;
}

void uart_puts(const char *s)
{
    while (*s)
        uart_putc(*s++);
}

void uart_putu(unsigned n)
{
    char digits[10];
    int i = 0;
    do {
        digits[i++] = '0' + n % 10;
        n /= 10;
    } while (n != 0);
    while (i > 0)
        uart_putc(digits[--i]);
}

void uart_putx(unsigned n)
{
    uart_puts("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        uart_putc("0123456789abcdef"[(n >> shift) & 0xf]);
}

void power_off(void)
{
    REG32(FINISHER_BASE) = FINISHER_PASS;
    for (;;)
        ;
}
