// The C library's memory functions, which a freestanding program must bring
// itself (the compiler may call memcpy and memset for structure copies too).
#include "sbi.h"

void *memcpy(void *dst, const void *src, unsigned int n) {
  uint8 *d = dst;
  const uint8 *s = src;
  while (n--)
    *d++ = *s++;
  return dst;
}

// memmove: as memcpy, but the ranges may overlap (fdt.c slides blocks along).
void *memmove(void *dst, const void *src, unsigned int n) {
  uint8 *d = dst;
  const uint8 *s = src;
  if (d <= s)
    return memcpy(dst, src, n);
  while (n--)
    d[n] = s[n];
  return dst;
}

void *memset(void *dst, int c, unsigned int n) {
  uint8 *d = dst;
  while (n--)
    *d++ = c;
  return dst;
}

int strcmp(const char *a, const char *b) {
  while (*a && *a == *b)
    a++, b++;
  return (uint8)*a - (uint8)*b;
}

unsigned int strlen(const char *s) {
  unsigned int n = 0;
  while (s[n])
    n++;
  return n;
}
