// The PLIC's level-triggered gateway, seen by polling (no traps): the UART's
// "transmitter empty" interrupt is a source that software can raise and lower
// at will (IER bit 1 on and off), so every step is deterministic.
//
// RISC-V PLIC spec 1.0.0, "Interrupt Gateways": once a level-triggered
// request has reached the PLIC core, "the interrupt request remains present
// in the IP bit of the PLIC core" even if the source deasserts it before it
// is claimed; only a claim clears the IP bit.  And "the PLIC will mask all
// PLIC interrupts of a priority less than or equal to threshold".

#include "memlayout.h"
#include "riscv.h"
#include "uart.h"

#define UART_IER 1
#define IER_THR_EMPTY 0x02
#define UART(off) (*(volatile unsigned char *)(UART0 + (off)))

static unsigned uart_pending(void)
{
    return (REG32(PLIC_PENDING) >> UART0_IRQ) & 1;
}

static unsigned meip(void)
{
    return (csr_read(mip) >> IRQ_M_EXT) & 1;
}

int main(void)
{
    REG32(PLIC_PRIORITY(UART0_IRQ)) = 1;
    REG32(PLIC_MENABLE) = 1u << UART0_IRQ;
    REG32(PLIC_MTHRESHOLD) = 0;
    printf("idle: pending %u meip %u\n", uart_pending(), meip());

    // Raise the line and drop it again before anyone claims.  Nothing is
    // printed while the line is up: sending a byte would touch the source.
    UART(UART_IER) = IER_THR_EMPTY;
    unsigned raised_pending = uart_pending(), raised_meip = meip();
    REG32(PLIC_MTHRESHOLD) = 1;     // priority 1 is not above threshold 1
    unsigned masked_meip = meip();
    REG32(PLIC_MTHRESHOLD) = 0;
    UART(UART_IER) = 0;
    unsigned dropped_pending = uart_pending(), dropped_meip = meip();
    printf("raised: pending %u meip %u, meip under threshold 1: %u\n", raised_pending,
           raised_meip, masked_meip);
    printf("dropped before claim: pending %u meip %u\n", dropped_pending, dropped_meip);
    unsigned id = REG32(PLIC_MCLAIM);
    printf("claim %u, then pending %u\n", id, uart_pending());
    if (id)
        REG32(PLIC_MCLAIM) = id;
    printf("claim again %u\n", REG32(PLIC_MCLAIM));

    // A claim while the line is up: the source is in service, not pending.
    UART(UART_IER) = IER_THR_EMPTY;
    id = REG32(PLIC_MCLAIM);
    unsigned in_service_pending = uart_pending(), in_service_meip = meip();
    UART(UART_IER) = 0;
    REG32(PLIC_MCLAIM) = id;
    printf("claimed while raised: %u, pending %u meip %u\n", id, in_service_pending,
           in_service_meip);
    printf("completed after dropping: pending %u meip %u\n", uart_pending(), meip());
    return 0;
}
