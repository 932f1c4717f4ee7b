// lib.c: the little C library our programs use: strings, memory, printf.
// (gcc may itself emit calls to memcpy and memset, e.g. to copy a struct, so
// these must exist under their standard names.)
#include "rt.h"

size_t strlen(const char *s)
{
    size_t n = 0;
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

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n > 0; n--, a++, b++)
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    return 0;
}

char *strchr(const char *s, int c)
{
    for (; *s; s++)
        if (*s == c)
            return (char *)s;
    return c ? 0 : (char *)s;
}

char *strrchr(const char *s, int c)
{
    const char *last = 0;
    for (; *s; s++)
        if (*s == c)
            last = s;
    return (char *)last;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
    if (d < s)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    char *d = dst;
    while (n--)
        *d++ = c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n > 0; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

int is_number(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

int atoi(const char *s)
{
    int sign = 1, n = 0;
    if (*s == '-')
        sign = -1, s++;
    while (*s >= '0' && *s <= '9')
        n = n * 10 + *s++ - '0';
    return sign * n;
}

// 64-bit by 32-bit division, one bit at a time (long division in base 2).  gcc
// would call libgcc's __udivdi3 for a 64-bit `/` (and __lshrdi3 for a 64-bit
// shift by a variable amount), and we link no libgcc: so only shifts by 1.
u64 udiv64(u64 n, u32 d, u32 *rem)
{
    u64 q = 0, r = 0;
    for (int i = 0; i < 64; i++) {
        r = (r << 1) | (n >> 63);       // bring down n's next bit
        n <<= 1;
        q <<= 1;
        if (r >= d) {
            r -= d;
            q |= 1;
        }
    }
    if (rem)
        *rem = (u32)r;
    return q;
}

const char *strerror(int err)
{
    switch (err) {
    case EPERM: return "operation not permitted";
    case ENOENT: return "no such file or directory";
    case ESRCH: return "no such process";
    case EINTR: return "interrupted";
    case EIO: return "input/output error";
    case ENXIO: return "no such device or address";
    case ENOEXEC: return "exec format error";
    case EBADF: return "bad file descriptor";
    case ECHILD: return "no child processes";
    case ENOMEM: return "out of memory";
    case EACCES: return "permission denied";
    case EBUSY: return "device or resource busy";
    case EEXIST: return "file exists";
    case ENODEV: return "no such device";
    case ENOTDIR: return "not a directory";
    case EISDIR: return "is a directory";
    case EINVAL: return "invalid argument";
    case ENOTTY: return "not a terminal";
    case ENOSPC: return "no space left on device";
    case EROFS: return "read-only file system";
    case ENOTEMPTY: return "directory not empty";
    case ENOSYS: return "function not implemented";
    case EADDRINUSE: return "address in use";
    case ENETUNREACH: return "network is unreachable";
    case EHOSTUNREACH: return "no route to host";
    case EAFNOSUPPORT: return "address family not supported";
    case EPROTONOSUPPORT: return "protocol not supported";
    default: return "error";
    }
}

// Print "who: what: reason" on stderr and exit 1.
void fail(const char *who, const char *what, int err)
{
    dprintf(2, "%s: %s: %s\n", who, what, strerror(-err));
    exit(1);
}

// --- printf ---
// vformat understands %d %i %u %x %s %c %%, with l or ll (64-bit) before d/u/x,
// a width, and flags '-' (left-justify) and '0' (pad with zeros).  It hands each
// character to `put`, so printf, dprintf and snprintf share it.

static void put_padded(void (*put)(void *, char), void *ctx, const char *s, int len,
                       int width, int left, char pad)
{
    if (pad == '0' && len > 0 && *s == '-') {     // the sign before the zeros
        put(ctx, *s++);
        len--, width--;
    }
    for (int i = len; !left && i < width; i++)
        put(ctx, pad);
    for (int i = 0; i < len; i++)
        put(ctx, s[i]);
    for (int i = len; left && i < width; i++)
        put(ctx, ' ');
}

void vformat(void (*put)(void *, char), void *ctx, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(ctx, *fmt);
            continue;
        }
        int left = 0, width = 0, longs = 0;
        char pad = ' ';
        for (fmt++; *fmt == '-' || *fmt == '0'; fmt++)
            if (*fmt == '-')
                left = 1;
            else
                pad = '0';
        for (; *fmt >= '0' && *fmt <= '9'; fmt++)
            width = width * 10 + *fmt - '0';
        for (; *fmt == 'l'; fmt++)
            longs++;
        char num[24], *p = num + sizeof num;  // digits, written from the end
        const char *s;
        switch (*fmt) {
        case 'd': case 'i': case 'u': case 'x': {
            u64 v;
            int neg = 0, base = *fmt == 'x' ? 16 : 10;
            if (*fmt == 'd' || *fmt == 'i') {
                int64_t sv = longs >= 2 ? va_arg(ap, int64_t) : va_arg(ap, long);
                neg = sv < 0;
                v = neg ? -(u64)sv : (u64)sv;
            } else {
                v = longs >= 2 ? va_arg(ap, u64) : va_arg(ap, unsigned long);
            }
            do {
                u32 digit;
                v = udiv64(v, base, &digit);
                *--p = "0123456789abcdef"[digit];
            } while (v);
            if (neg)
                *--p = '-';
            put_padded(put, ctx, p, num + sizeof num - p, width, left, left ? ' ' : pad);
            break;
        }
        case 's':
            s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            put_padded(put, ctx, s, strlen(s), width, left, ' ');
            break;
        case 'c':
            num[0] = va_arg(ap, int);
            put_padded(put, ctx, num, 1, width, left, ' ');
            break;
        case '%':
            put(ctx, '%');
            break;
        default:                // unknown: print it as it is
            put(ctx, '%');
            if (!*fmt)
                return;
            put(ctx, *fmt);
        }
    }
}

// printf and dprintf collect the output in a buffer and write it in one go at
// the end (or when the buffer fills), so a line reaches the terminal whole.
struct outbuf {
    int fd, n;
    char buf[256];
};

static void out_put(void *ctx, char c)
{
    struct outbuf *o = ctx;
    if (o->n == sizeof o->buf) {
        write(o->fd, o->buf, o->n);
        o->n = 0;
    }
    o->buf[o->n++] = c;
}

static void vdprintf(int fd, const char *fmt, va_list ap)
{
    struct outbuf o;
    o.fd = fd;
    o.n = 0;
    vformat(out_put, &o, fmt, ap);
    if (o.n)
        write(fd, o.buf, o.n);
}

void dprintf(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdprintf(fd, fmt, ap);
    va_end(ap);
}

void printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdprintf(1, fmt, ap);
    va_end(ap);
}

struct strbuf {
    char *buf;
    int size, n;
};

static void str_put(void *ctx, char c)
{
    struct strbuf *s = ctx;
    if (s->n + 1 < s->size)
        s->buf[s->n] = c;
    s->n++;
}

int snprintf(char *buf, int size, const char *fmt, ...)
{
    struct strbuf s = {buf, size, 0};
    va_list ap;
    va_start(ap, fmt);
    vformat(str_put, &s, fmt, ap);
    va_end(ap);
    if (size > 0)
        buf[s.n < size ? s.n : size - 1] = 0;
    return s.n;
}

// Read a whole (small) file into buf, 0-terminated: what /proc and /sys offer.
int read_file(const char *path, char *buf, int size)
{
    int fd = open(path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    int n = 0, r;
    while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
        n += r;
    close(fd);
    buf[n] = 0;
    return n;
}

// "A.B.C.D" to an IPv4 address in network byte order (as sockaddr_in wants it).
int parse_ip(const char *s, uint32_t *ip)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++) {
        int v = 0, digits = 0;
        for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
            v = v * 10 + *s - '0';
        if (digits == 0 || v > 255 || *s != (i < 3 ? '.' : 0))
            return 0;
        b[i] = v;
        s++;
    }
    memcpy(ip, b, 4);
    return 1;
}

const char *ip_string(uint32_t ip)
{
    static char text[16];
    unsigned char *b = (unsigned char *)&ip;
    snprintf(text, sizeof text, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return text;
}
