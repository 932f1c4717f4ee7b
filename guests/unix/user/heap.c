// heap KIB: grow this process's memory with sbrk, fill every byte and check it,
// then give it back, printing what the kernel's page counts did meanwhile.
#include "user.h"

static uint free_pages(void)
{
    uint counts[2];
    meminfo(counts);
    return counts[0];
}

int main(int argc, char **argv)
{
    int kib = argc == 2 ? atoi(argv[1]) : 0;
    if (kib <= 0) {
        printf("usage: heap KIB\n");
        return 1;
    }
    uint before = free_pages();
    char *base = sbrk(kib * 1024);
    if (base == (char *)-1) {
        printf("heap: sbrk(%d KiB) failed\n", kib);
        return 1;
    }
    uint during = free_pages();
    for (int i = 0; i < kib * 1024; i++)
        base[i] = (char)(i * 7);
    for (int i = 0; i < kib * 1024; i++)
        if (base[i] != (char)(i * 7)) {
            printf("heap: byte %d lost its value\n", i);
            return 1;
        }
    char *end = sbrk(-kib * 1024);
    printf("heap: %d KiB at 0x%x checked; free pages %d -> %d -> %d\n",
           kib, (uint)base, before, during, free_pages());
    return end == base + kib * 1024 ? 0 : 1;
}
