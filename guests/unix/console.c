// The console: a line discipline over the UART.
//
// Received bytes wait, raw, in a type-ahead queue.  They are edited into a line
// (echo, backspace 0x7f/0x08, ctrl-U kills the line) only while a reader waits
// for one, and one line at a time: so the echo of typed-ahead input appears after
// the prompt of the program that reads it, the same whether input arrives early
// (QEMU reads a piped stdin at once) or late (our machine paces it).  ctrl-C acts
// on arrival: it kills the jobs the shell started (kill_console_jobs) and drops
// the type-ahead.  When the queue is full the UART keeps the rest: flow control.

#include "proc.h"

#define CTRL(c) ((c) - '@')
#define QUEUE 256
#define LINE 128

static struct {
    uint8 queue[QUEUE];         // raw type-ahead: bytes [qr, qw) (mod QUEUE)
    uint32 qr, qw;
    char line[LINE];            // the line being edited
    uint32 len;
    int complete;               // line ends in '\n' and waits to be read
    uint32 taken;               // bytes of a complete line already read
    int readers;                // processes waiting in consoleread
} cons;

void consoleinit(void)
{
    uartinit();
    uart_rx_enable(1);
}

static void echo(int c)
{
    if (c == '\b') {            // erase a character on the terminal
        uartputc('\b'), uartputc(' '), uartputc('\b');
    } else {
        uartputc(c);
    }
}

// Edit queued bytes into the line until it is complete or the queue is empty.
static void cook(void)
{
    while (!cons.complete && cons.qr != cons.qw) {
        int c = cons.queue[cons.qr++ % QUEUE];
        switch (c) {
        case CTRL('U'):
            for (; cons.len > 0; cons.len--)
                echo('\b');
            break;
        case 0x7f:
        case '\b':
            if (cons.len > 0) {
                cons.len--;
                echo('\b');
            }
            break;
        case '\r':
        case '\n':
            cons.line[cons.len++] = '\n';
            echo('\n');
            cons.complete = 1;
            cons.taken = 0;
            break;
        default:
            if (cons.len < LINE - 1) {      // keep room for the '\n'
                cons.line[cons.len++] = c;
                echo(c);
            }
        }
    }
    uart_rx_enable(cons.qw - cons.qr < QUEUE);
}

// A byte arrived (uartintr).
void consoleintr(int c)
{
    if (c == CTRL('C')) {
        uartputc('^'), uartputc('C'), uartputc('\n');
        cons.qr = cons.qw;                  // drop the type-ahead
        if (!cons.complete)
            cons.len = 0;
        if (kill_console_jobs() == 0 && cons.readers) {
            cons.line[0] = '\n';            // nothing to kill: the shell prompts again
            cons.len = 1;
            cons.complete = 1;
            cons.taken = 0;
            wakeup(&cons);
        }
        return;
    }
    cons.queue[cons.qw++ % QUEUE] = c;
    if (cons.qw - cons.qr == QUEUE)
        uart_rx_enable(0);                  // full: the rest waits in the UART
    if (cons.readers) {
        cook();
        if (cons.complete)
            wakeup(&cons);
    }
}

// Read up to n bytes of one line into user address dst; how many (0 < n), or -1
// if the reader is killed or dst is bad.
int consoleread(uint32 dst, int n)
{
    struct proc *p = myproc();
    cons.readers++;
    cook();
    while (!cons.complete) {
        if (killed(p)) {
            cons.readers--;
            return -1;
        }
        sleep(&cons);
        cook();
    }
    cons.readers--;
    uint32 count = cons.len - cons.taken;
    if ((uint32)n < count)
        count = n;
    if (copyout(p->pagetable, dst, cons.line + cons.taken, count) < 0)
        return -1;
    cons.taken += count;
    if (cons.taken == cons.len) {
        cons.complete = 0;
        cons.len = 0;
    }
    return count;
}

// Write n bytes from user address src to the UART; n, or -1 if src is bad.
int consolewrite(uint32 src, int n)
{
    struct proc *p = myproc();
    char buf[64];
    for (int done = 0; done < n;) {
        int chunk = n - done < (int)sizeof buf ? n - done : (int)sizeof buf;
        if (copyin(p->pagetable, buf, src + done, chunk) < 0)
            return -1;
        for (int i = 0; i < chunk; i++)
            uartputc(buf[i]);
        done += chunk;
    }
    return n;
}
