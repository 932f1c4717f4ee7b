// fault [store|load|exec|kernel]: touch memory this process may not; the kernel
// kills it and says why.  Default: store to address 0.
#include "user.h"

int main(int argc, char **argv)
{
    const char *kind = argc > 1 ? argv[1] : "store";
    volatile uint where = 0;    // volatile: the compiler must not see the bad pointer
    printf("fault: %s\n", kind);
    if (strcmp(kind, "load") == 0)
        return *(volatile int *)(where + 0x10);              // page 0 is unmapped
    if (strcmp(kind, "exec") == 0)
        ((void (*)(void))(where + 0x40000000))();           // nothing there
    if (strcmp(kind, "kernel") == 0)
        *(volatile int *)(where + 0x80000000) = 1;           // kernel page: no PTE_U
    *(volatile int *)where = 42;
    printf("fault: still alive?\n");
    return 1;
}
