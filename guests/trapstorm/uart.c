// Polled output on the NS16550A UART (no setup needed on QEMU or tuivmm), and
// the finisher that ends the run.  Both work from M-mode and from S-mode.

#include "memlayout.h"
#include "riscv.h"
#include "trapstorm.h"

#define UART_THR 0                  // transmit holding register
#define UART_LSR 5                  // line status register
#define LSR_THRE 0x20               // THR empty: ready for the next byte

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

// `n` in decimal.
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

// `n` in hex, as 0x and eight digits.
void uart_putx(unsigned n)
{
    uart_puts("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        uart_putc("0123456789abcdef"[(n >> shift) & 0xf]);
}

// Status 0 powers off; anything else reports failure with code 1.
void power_off(int failed)
{
    REG32(FINISHER_BASE) = failed ? (1 << 16) | FINISHER_FAIL : FINISHER_PASS;
    for (;;)
        ;
}
