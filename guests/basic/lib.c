// The few C library routines basic needs, there being no libc.  GCC may call
// memset and memcpy by itself (for struct copies and zeroing loops), so they
// must exist under those names.  Its loop-to-call optimisation is switched off
// here, or it would turn memset's own loop into a call to memset.

#include "basic.h"

#define NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

NO_LIBCALLS void *memset(void *dst, int c, unsigned n)
{
    unsigned char *d = dst;
    while (n-- > 0)
        *d++ = c;
    return dst;
}

NO_LIBCALLS void *memcpy(void *dst, const void *src, unsigned n)
{
    return memmove(dst, src, n);
}

// Copies correctly when the two ranges overlap, in either direction.
NO_LIBCALLS void *memmove(void *dst, const void *src, unsigned n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) {
        while (n-- > 0)
            *d++ = *s++;
    } else {
        while (n-- > 0)
            d[n] = s[n];
    }
    return dst;
}

int strlen(const char *s)
{
    int n = 0;
    while (s[n])
        n++;
    return n;
}
