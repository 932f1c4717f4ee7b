// The console: an NS16550A.  Output is polled, a byte at a time.  Input comes
// by interrupt: the handler drains the receiver into a ring of keys that
// uart_getc() takes from, so keys typed while a program runs wait their turn.
//
// The FIFO control register is left alone: enabling the FIFO empties it, and
// QEMU may already hold the first typed byte when we boot.  Without a FIFO the
// UART holds one byte and the host keeps the rest until we read it, so no key
// is ever lost; when the ring is full, we stop reading (and switch the
// receive interrupt off) until the takers have emptied half of it.

#include "basic.h"

#define RBR 0                   // receive buffer (read)
#define THR 0                   // transmit holding (write)
#define IER 1                   // interrupt enable
#define LCR 3                   // line control
#define LSR 5                   // line status
#define IER_RX    0x01          // interrupt when a byte is received
#define LCR_8N1   0x03          // eight data bits, no parity, one stop bit
#define LSR_DR    0x01          // data ready
#define LSR_THRE  0x20          // transmit holding register empty

#define UART(reg) REG8(UART0_BASE + (reg))

#define RING 1024               // a power of two, so indices may wrap
static volatile char ring[RING];
static volatile uint32 head;    // written by uart_intr
static volatile uint32 tail;    // written by the takers, interrupts off
static volatile int breaks;     // Ctrl-C keys in the ring
static volatile int stalled;    // ring was full: receive interrupt is off

void uart_init(void)
{
    UART(LCR) = LCR_8N1;
    UART(IER) = IER_RX;
}

void uart_putc(int c)
{
    while ((UART(LSR) & LSR_THRE) == 0)
        ;
    UART(THR) = c;
}

// The receive interrupt: move every byte the UART holds into the ring.
void uart_intr(void)
{
    while (UART(LSR) & LSR_DR) {
        if (head - tail == RING) {
            UART(IER) = 0;      // leave the byte where it is
            stalled = 1;
            return;
        }
        int c = UART(RBR);
        if (c == CTRL_C)
            breaks++;
        ring[head % RING] = c;
        head++;
    }
}

// One key out of the ring.  Call with interrupts off.
static int take(void)
{
    int c = ring[tail % RING];
    tail++;
    if (c == CTRL_C)
        breaks--;
    if (stalled && head - tail <= RING / 2) {
        stalled = 0;
        UART(IER) = IER_RX;     // there is room again
    }
    return c;
}

// The next key, sleeping in WFI until one arrives.
int uart_getc(void)
{
    intr_off();                 // no key may slip in between test and sleep
    while (head == tail) {
        wfi();
        intr_on();              // let the waking interrupt run
        intr_off();
    }
    int c = take();
    intr_on();
    return c;
}

int uart_break_pending(void)
{
    return breaks > 0;
}

// Ctrl-C stops a program and throws away what was typed ahead of it.
void uart_take_break(void)
{
    intr_off();
    while (head != tail && take() != CTRL_C)
        ;
    intr_on();
}
