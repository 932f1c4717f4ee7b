// The PLIC: route device interrupts (the UART's, the network card's) to this
// hart's S-mode (context 1).

#include "defs.h"

#define PLIC_PRIORITY(irq)  (PLIC_BASE + 4 * (irq))
#define PLIC_SENABLE        (PLIC_BASE + 0x2000 + 0x80 * 1)
#define PLIC_STHRESHOLD     (PLIC_BASE + 0x200000 + 0x1000 * 1)
#define PLIC_SCLAIM         (PLIC_STHRESHOLD + 4)

// Let every priority above 0 through to S-mode, and enable the UART.
void plicinit(void)
{
    DEVREG32(PLIC_STHRESHOLD) = 0;
    plic_enable(UART0_IRQ);
}

// Deliver source irq to S-mode, at priority 1.
void plic_enable(int irq)
{
    DEVREG32(PLIC_PRIORITY(irq)) = 1;
    DEVREG32(PLIC_SENABLE) |= 1u << irq;
}

// The highest-priority pending interrupt, now claimed (0: none).
int plic_claim(void)
{
    return DEVREG32(PLIC_SCLAIM);
}

// Tell the PLIC that irq has been served.
void plic_complete(int irq)
{
    DEVREG32(PLIC_SCLAIM) = irq;
}
