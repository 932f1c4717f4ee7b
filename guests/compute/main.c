// compute: run each benchmark kernel (kernels.c) and print its checksum, one
// line per kernel, then "compute: done" and power off.  The checksums are the
// same on every correct RV32IM machine and on the host (tests build kernels.c
// with the host's cc to check them).

#include "kernels.h"
#include "uart.h"

#define NAME_WIDTH 8

void main(void)
{
    for (unsigned i = 0; i < nkernels; i++) {
        const struct kernel *k = &kernels[i];
        uint32 checksum = k->run(k->iterations);

        uart_puts("compute: ");
        uart_puts(k->name);
        int len = 0;
        while (k->name[len])
            len++;
        for (; len < NAME_WIDTH; len++)     // line the numbers up
            uart_puts(" ");
        uart_putu(k->iterations, 4);
        uart_puts(" iterations, checksum ");
        uart_putx(checksum);
        uart_puts("\n");
    }
    uart_puts("compute: done\n");
    power_off();
}
