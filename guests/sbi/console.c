// The console: the board's NS16550A UART, polled.  The firmware never takes the
// UART's interrupt (that belongs to S-mode: the PLIC routes it to Linux), so it
// asks the line status register before every byte:
//   LSR bit 5 (THRE): the transmit holding register is empty, THR may take a byte
//   LSR bit 0 (DR):   a received byte waits in RBR
// The UART needs no setup on QEMU or on ours; Linux programs it again anyway.
#include "sbi.h"

#define UART_RBR 0  // receive buffer (read)
#define UART_THR 0  // transmit holding (write)
#define UART_LSR 5
#define LSR_DR   (1 << 0)
#define LSR_THRE (1 << 5)

static volatile uint8 *const uart = (volatile uint8 *)UART0_BASE;

void console_putc(int c) {
  while (!(uart[UART_LSR] & LSR_THRE))
    ;
  uart[UART_THR] = c;
}

int console_getc(void) {
  if (!(uart[UART_LSR] & LSR_DR))
    return -1;
  return uart[UART_RBR];
}

static void putnum(uint32 x, int base, int width) {
  char digits[12];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[x % base];
    x /= base;
  } while (x);
  while (n < width)
    digits[n++] = '0';
  while (n)
    console_putc(digits[--n]);
}

// printf with the few conversions the firmware uses: %s, %c, %d, %u, %x, %08x.
void printf(const char *fmt, ...) {
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      console_putc(*fmt);
      continue;
    }
    int width = 0;
    fmt++;
    while (*fmt >= '0' && *fmt <= '9')
      width = width * 10 + *fmt++ - '0';
    switch (*fmt) {
    case 's': {
      const char *s = __builtin_va_arg(ap, const char *);
      while (*s)
        console_putc(*s++);
      break;
    }
    case 'c':
      console_putc(__builtin_va_arg(ap, int));
      break;
    case 'd': {
      int v = __builtin_va_arg(ap, int);
      if (v < 0) {
        console_putc('-');
        v = -v;
      }
      putnum(v, 10, width);
      break;
    }
    case 'u':
      putnum(__builtin_va_arg(ap, uint32), 10, width);
      break;
    case 'x':
      putnum(__builtin_va_arg(ap, uint32), 16, width);
      break;
    default:
      console_putc('%');
      console_putc(*fmt);
    }
  }
  __builtin_va_end(ap);
}
