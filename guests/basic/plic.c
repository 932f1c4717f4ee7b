// The PLIC routes the UART's interrupt line to this hart's M-mode (context 0),
// the only mode basic uses.  PLIC spec 1.0.0, chapter 3 has the register map.

#include "basic.h"

#define PLIC_PRIORITY(irq)  (PLIC_BASE + 4 * (irq))
#define PLIC_MENABLE        (PLIC_BASE + 0x2000)      // context 0's enable bits
#define PLIC_MTHRESHOLD     (PLIC_BASE + 0x200000)    // context 0
#define PLIC_MCLAIM         (PLIC_BASE + 0x200004)    // context 0

void plic_init(void)
{
    REG32(PLIC_PRIORITY(UART0_IRQ)) = 1;        // 0 would mean "never"
    REG32(PLIC_MENABLE) = 1u << UART0_IRQ;
    REG32(PLIC_MTHRESHOLD) = 0;                 // let every priority through
}

// The highest-priority pending interrupt, now in service; 0 if none.
int plic_claim(void)
{
    return REG32(PLIC_MCLAIM);
}

// Done with `irq`: the PLIC may signal it again.
void plic_complete(int irq)
{
    REG32(PLIC_MCLAIM) = irq;
}
