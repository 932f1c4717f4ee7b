// A tiny C library for user programs: strings, numbers and printf to fd 1.

#include "user.h"

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type)   __builtin_va_arg(ap, type)
#define va_end(ap)         __builtin_va_end(ap)

uint strlen(const char *s)
{
    uint n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

// The decimal number at the start of s (an optional '-', then digits).
int atoi(const char *s)
{
    int neg = *s == '-', n = 0;
    for (s += neg; *s >= '0' && *s <= '9'; s++)
        n = n * 10 + (*s - '0');
    return neg ? -n : n;
}

void *memset(void *dst, int c, uint n)
{
    volatile char *d = dst;     // volatile: gcc must not turn this loop into memset()
    while (n--)
        *d++ = c;
    return dst;
}

void *memcpy(void *dst, const void *src, uint n)
{
    volatile char *d = dst;
    const char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

// printf collects its output here and writes it with one system call.
static char out[256];
static int outlen;

static void putc(char c)
{
    if (outlen == sizeof out) {
        write(1, out, outlen);
        outlen = 0;
    }
    out[outlen++] = c;
}

static void printint(int value, int base, int is_signed, int width)
{
    static const char digits[] = "0123456789abcdef";
    char buf[12];
    uint x = value;
    int neg = is_signed && value < 0, i = 0;
    if (neg)
        x = -(uint)value;
    do {
        buf[i++] = digits[x % base];
        x /= base;
    } while (x);
    if (neg)
        buf[i++] = '-';
    for (int pad = width - i; pad > 0; pad--)
        putc(' ');
    while (--i >= 0)
        putc(buf[i]);
}

// printf to fd 1: %d %u %x %s %c %%, with an optional width (%5d, %-8s).
void printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            putc(*fmt);
            continue;
        }
        int left = 0, width = 0;
        if (*++fmt == '-')
            left = 1, fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        switch (*fmt) {
        case 'd': printint(va_arg(ap, int), 10, 1, width); break;
        case 'u': printint(va_arg(ap, int), 10, 0, width); break;
        case 'x': printint(va_arg(ap, int), 16, 0, width); break;
        case 'c': putc(va_arg(ap, int)); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int n = strlen(s);
            for (int pad = width - n; !left && pad > 0; pad--)
                putc(' ');
            while (*s)
                putc(*s++);
            for (int pad = width - n; left && pad > 0; pad--)
                putc(' ');
            break;
        }
        case 0: fmt--; break;
        default: putc('%'); putc(*fmt); break;
        }
    }
    va_end(ap);
    write(1, out, outlen);
    outlen = 0;
}

// Read one line (with its '\n') into buf, NUL-terminated; its length, 0 at end
// of input.
int getline(char *buf, int max)
{
    int n = 0;
    while (n < max - 1) {
        int got = read(0, buf + n, max - 1 - n);
        if (got <= 0)
            break;
        n += got;
        if (buf[n - 1] == '\n')
            break;
    }
    buf[n] = 0;
    return n;
}

// Parse "A.B.C.D" into *ip (host order, so 10.0.0.2 is 0x0a000002); 0 if it is not one.
int parse_ip(const char *s, uint *ip)
{
    uint value = 0;
    for (int part = 0; part < 4; part++) {
        if (*s < '0' || *s > '9')
            return 0;
        uint byte = 0;
        while (*s >= '0' && *s <= '9' && byte <= 255)
            byte = byte * 10 + (*s++ - '0');
        if (byte > 255 || *s != (part == 3 ? 0 : '.'))
            return 0;
        if (*s)
            s++;
        value = value << 8 | byte;
    }
    *ip = value;
    return 1;
}

// Print ip (host order) as A.B.C.D.
void print_ip(uint ip)
{
    printf("%d.%d.%d.%d", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}
