// The few C library routines the kernel needs (no libc, no libgcc here; gcc may
// also emit calls to memset/memcpy for struct copies, so these must exist).

#include "defs.h"

// Fill n bytes at dst with c; returns dst.
void *memset(void *dst, int c, uint32 n)
{
    uint8 *d = dst;
    if ((((uint32)d | n) & 3) == 0) {       // whole words: 4x fewer stores
        uint32 w = (uint8)c * 0x01010101u;
        for (uint32 *p = dst; n; n -= 4)
            *p++ = w;
        return dst;
    }
    while (n--)
        *d++ = c;
    return dst;
}

// Copy n bytes from src to dst, which may overlap; returns dst.
void *memmove(void *dst, const void *src, uint32 n)
{
    uint8 *d = dst;
    const uint8 *s = src;
    if (s < d && s + n > d) {               // overlap with dst above: copy backwards
        while (n--)
            d[n] = s[n];
        return dst;
    }
    if ((((uint32)d | (uint32)s | n) & 3) == 0) {
        uint32 *dw = dst;
        const uint32 *sw = src;
        for (; n; n -= 4)
            *dw++ = *sw++;
        return dst;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

// Copy n bytes between buffers that do not overlap; returns dst.
void *memcpy(void *dst, const void *src, uint32 n)
{
    return memmove(dst, src, n);
}

// <0, 0, >0 as a sorts before, equal to, or after b.
int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (uint8)*a - (uint8)*b;
}

uint32 strlen(const char *s)
{
    uint32 n = 0;
    while (s[n])
        n++;
    return n;
}

// Copy at most n-1 characters and always terminate; returns dst.
char *safestrcpy(char *dst, const char *src, int n)
{
    char *d = dst;
    if (n <= 0)
        return dst;
    while (--n > 0 && (*d = *src++) != 0)
        d++;
    *d = 0;
    return dst;
}
