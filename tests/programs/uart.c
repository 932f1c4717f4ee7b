// Polled output to the NS16550A UART at 0x1000_0000: wait for THRE, write THR.
// QEMU's UART and ours need no setup for this; a real chip would want its
// divisor latch programmed first.

#include <stdarg.h>
#include "uart.h"

#define UART0    0x10000000UL
#define UART_THR 0                  // transmit holding register (write)
#define UART_LSR 5                  // line status register
#define LSR_THRE (1 << 5)           // THR empty: ready for the next byte

#define REG(off) (*(volatile unsigned char *)(UART0 + (off)))

void uart_putc(char c)
{
    while ((REG(UART_LSR) & LSR_THRE) == 0)
        ;
    REG(UART_THR) = c;
}

void uart_puts(const char *s)
{
    while (*s)
        uart_putc(*s++);
}

// Write `sign` (or nothing) and `value` in `base` (10 or 16), at least `width`
// characters wide, as C's printf does: "%5d" gives "  -42", "%05d" gives "-0042".
static void print_number(const char *sign, unsigned value, unsigned base, int width, char pad)
{
    char digits[32];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value != 0);
    width -= n + (*sign != '\0');
    while (pad == ' ' && width-- > 0)
        uart_putc(' ');
    uart_puts(sign);
    while (pad == '0' && width-- > 0)
        uart_putc('0');
    while (n > 0)
        uart_putc(digits[--n]);
}

static void print_signed(int value, int width, char pad)
{
    // Negate as unsigned so INT_MIN is printed right.
    unsigned magnitude = value < 0 ? 0u - (unsigned)value : (unsigned)value;
    print_number(value < 0 ? "-" : "", magnitude, 10, width, pad);
}

void printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            uart_putc(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        switch (*fmt) {
        case 'd': print_signed(va_arg(ap, int), width, pad); break;
        case 'u': print_number("", va_arg(ap, unsigned), 10, width, pad); break;
        case 'x': print_number("", va_arg(ap, unsigned), 16, width, pad); break;
        case 'c': uart_putc((char)va_arg(ap, int)); break;
        case 's': uart_puts(va_arg(ap, const char *)); break;
        case '%': uart_putc('%'); break;
        case '\0': fmt--; break;    // lone '%' at the end
        default: uart_putc('%'); uart_putc(*fmt); break;
        }
    }
    va_end(ap);
}
