// The NS16550A UART: polled output, interrupt-driven input (IRQ 10 via the PLIC).

#include "defs.h"

#define RHR 0                   // receive holding register (read)
#define THR 0                   // transmit holding register (write)
#define IER 1                   // interrupt enable
#define IER_RX 0x01             //   interrupt when a byte has arrived
#define LCR 3                   // line control
#define LCR_8N1 0x03            //   eight data bits, no parity, one stop bit
#define LCR_DLAB 0x80           //   divisor latch access (baud rate)
#define LSR 5                   // line status
#define LSR_RX_READY 0x01
#define LSR_THR_EMPTY 0x20

#define REG(r) DEVREG8(UART0_BASE + (r))

// Program the line (38400 baud, 8N1); reception interrupts start off.  The FIFO
// control register is left alone: changing it clears the receive FIFO (QEMU and
// ours both do), losing input that arrived before boot, as a piped stdin does.
void uartinit(void)
{
    REG(IER) = 0;
    REG(LCR) = LCR_DLAB;
    REG(0) = 3;                 // divisor 3: 38400 baud (meaningless on a virtual line)
    REG(1) = 0;
    REG(LCR) = LCR_8N1;
}

// Send one byte, waiting for room: kernel output is synchronous.
void uartputc(int c)
{
    while ((REG(LSR) & LSR_THR_EMPTY) == 0)
        ;
    REG(THR) = c;
}

// Interrupt on received bytes or not (console.c's flow control: bytes nobody has
// room for stay in the UART, and the sender waits).
void uart_rx_enable(int on)
{
    REG(IER) = on ? IER_RX : 0;
}

// The UART interrupted: hand every received byte to the console.
void uartintr(void)
{
    while (REG(IER) & IER_RX) {
        if ((REG(LSR) & LSR_RX_READY) == 0)
            break;
        consoleintr(REG(RHR));
    }
}
