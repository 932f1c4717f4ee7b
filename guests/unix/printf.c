// Kernel printf (%d %u %x %p %s %c %%), panic, and power-off.  Output goes to the
// UART synchronously, so a panic's last words always reach the console.

#include "defs.h"

// -nostdinc leaves out <stdarg.h>; these are what it would say.
typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type)   __builtin_va_arg(ap, type)
#define va_end(ap)         __builtin_va_end(ap)

static void printint(int value, int base, int is_signed)
{
    static const char digits[] = "0123456789abcdef";
    char buf[12];
    uint32 x = value;
    int neg = is_signed && value < 0;
    if (neg)
        x = -(uint32)value;
    int i = 0;
    do {
        buf[i++] = digits[x % base];
        x /= base;
    } while (x);
    if (neg)
        buf[i++] = '-';
    while (--i >= 0)
        uartputc(buf[i]);
}

// Format and print; unknown conversions print as themselves.
void printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            uartputc(*fmt);
            continue;
        }
        switch (*++fmt) {
        case 'd': printint(va_arg(ap, int), 10, 1); break;
        case 'u': printint(va_arg(ap, int), 10, 0); break;
        case 'x': printint(va_arg(ap, int), 16, 0); break;
        case 'p': uartputc('0'); uartputc('x'); printint(va_arg(ap, int), 16, 0); break;
        case 'c': uartputc(va_arg(ap, int)); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            for (s = s ? s : "(null)"; *s; s++)
                uartputc(*s);
            break;
        }
        case 0: fmt--; break;               // a lone % at the end
        default: uartputc('%'); uartputc(*fmt); break;
        }
    }
    va_end(ap);
}

// Stop the machine through the sifive_test finisher: FINISHER_PASS, or
// (code << 16) | FINISHER_FAIL.
void poweroff(uint32 code)
{
    DEVREG32(FINISHER_BASE) = code;
    for (;;)
        ;
}

// A broken invariant: say which, and power off with failure status 1.
void panic(const char *why)
{
    intr_off();
    printf("panic: %s\n", why);
    poweroff((1u << 16) | FINISHER_FAIL);
}
