// Interrupt-driven console input: the UART's receive interrupt reaches M-mode
// through the PLIC (context 0), the trap handler moves every byte the UART
// holds into a ring, and main sleeps in WFI until a whole line is there.  Each
// line comes back upper-cased and numbered; "quit" powers the machine off.
//
// The UART stays in its reset (16450) mode: turning the FIFO on flushes it, and
// on QEMU bytes may already be waiting by then.  The handler drains the receiver
// while LSR says data is ready, so a burst of input is taken in one interrupt.

#include "memlayout.h"
#include "riscv.h"
#include "uart.h"

#define UART_RBR 0
#define UART_IER 1
#define UART_LSR 5
#define IER_RX_AVAILABLE 0x01
#define LSR_DATA_READY   0x01
#define UART(off) (*(volatile unsigned char *)(UART0 + (off)))

extern char mtrapvec[];

#define RING 64                     // a power of two
static volatile unsigned char ring[RING];
static volatile unsigned ring_head; // written by the trap handler
static unsigned ring_tail;          // read by main

// Called from mtrap.S for every trap; the only one expected is the PLIC's.
void machine_trap(unsigned vector)
{
    unsigned cause = csr_read(mcause);
    if (cause != (CAUSE_INTERRUPT | IRQ_M_EXT) || vector != 0) {
        printf("echo: unexpected trap mcause=%x mepc=%x\n", cause, csr_read(mepc));
        power_off(1);
    }
    unsigned irq = REG32(PLIC_MCLAIM);
    if (irq == UART0_IRQ) {
        while (UART(UART_LSR) & LSR_DATA_READY) {
            unsigned char c = UART(UART_RBR);
            if (ring_head - ring_tail < RING)
                ring[ring_head++ % RING] = c;
        }
    } else if (irq != 0) {
        printf("echo: unexpected irq %u\n", irq);
        power_off(1);
    }
    if (irq)
        REG32(PLIC_MCLAIM) = irq;   // complete
}

// The next received byte, sleeping until there is one.  Interrupts are off while
// the ring is looked at, so an interrupt cannot slip in between the check and
// the WFI: WFI wakes for a pending enabled interrupt even with mstatus.MIE clear.
static int console_getc(void)
{
    for (;;) {
        intr_off();
        if (ring_tail != ring_head) {
            int c = ring[ring_tail++ % RING];
            intr_on();
            return c;
        }
        wfi();
        intr_on();                  // the interrupt that woke us is taken here
    }
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int main(void)
{
    // PLIC: UART at priority 1, enabled for context 0, threshold 0 lets it through.
    REG32(PLIC_PRIORITY(UART0_IRQ)) = 1;
    REG32(PLIC_MENABLE) = 1u << UART0_IRQ;
    REG32(PLIC_MTHRESHOLD) = 0;
    UART(UART_IER) = IER_RX_AVAILABLE;
    csr_write(mtvec, mtrapvec);
    csr_set(mie, 1u << IRQ_M_EXT);
    intr_on();

    printf("echo: ready\n");
    char line[80];
    for (int number = 1;; number++) {
        unsigned n = 0;
        int c;
        while ((c = console_getc()) != '\n')
            if (n + 1 < sizeof line)
                line[n++] = (char)c;
        line[n] = '\0';
        if (streq(line, "quit")) {
            printf("echo: bye after %d lines\n", number - 1);
            return 0;
        }
        for (char *p = line; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p -= 'a' - 'A';
        printf("%d: %s\n", number, line);
    }
}
