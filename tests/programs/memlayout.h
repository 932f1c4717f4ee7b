// Physical addresses of QEMU's virt board (and of machine/board.py).
#pragma once

#define FINISHER  0x00100000UL      // sifive_test
#define CLINT     0x02000000UL
#define PLIC      0x0c000000UL
#define UART0     0x10000000UL
#define VIRTIO0   0x10001000UL      // virtio-mmio slot 0
#define RAMBASE   0x80000000UL

#define UART0_IRQ   10
#define VIRTIO0_IRQ 1

// CLINT: one hart
#define CLINT_MTIMECMP (CLINT + 0x4000)
#define CLINT_MTIME    (CLINT + 0xbff8)

// PLIC, context 0 = hart 0 in M-mode
#define PLIC_PRIORITY(irq) (PLIC + 4 * (irq))
#define PLIC_PENDING       (PLIC + 0x1000)
#define PLIC_MENABLE       (PLIC + 0x2000)
#define PLIC_MTHRESHOLD    (PLIC + 0x200000)
#define PLIC_MCLAIM        (PLIC + 0x200004)

#define REG32(addr) (*(volatile unsigned *)(addr))

// The finisher: 0x5555 powers off with success, (code << 16) | 0x3333 with failure.
static inline void __attribute__((noreturn)) power_off(int code)
{
    REG32(FINISHER) = code ? ((unsigned)code << 16) | 0x3333 : 0x5555;
    for (;;)
        asm volatile("wfi");
}
