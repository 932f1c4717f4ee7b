// Console output and power: a polled NS16550A UART and the sifive_test finisher.
// Both are mapped at their physical addresses in every mode (vm.c), so M-mode
// and the S-mode kernel share these functions.
#include "riscv.h"
#include "memlayout.h"
#include "defs.h"

#define UART_THR      0       // transmit holding register (write)
#define UART_LSR      5       // line status register
#define UART_LSR_THRE 0x20    // THR empty: the UART will take another byte

static void uartputc(char c) {
  volatile unsigned char *uart = (volatile unsigned char *)UART0_BASE;
  while ((uart[UART_LSR] & UART_LSR_THRE) == 0)
    ;
  uart[UART_THR] = c;
}

void print(const char *s) {
  while (*s)
    uartputc(*s++);
}

// Eight hex digits after "0x": every value the demo prints is one register wide.
void printhex(uint32 x) {
  static const char digits[] = "0123456789abcdef";
  print("0x");
  for (int shift = 28; shift >= 0; shift -= 4)
    uartputc(digits[(x >> shift) & 0xF]);
}

// Write `code` to the finisher: FINISHER_PASS powers off with success,
// (status << 16) | FINISHER_FAIL with failure status.
void poweroff(uint32 code) {
  *(volatile uint32 *)FINISHER_BASE = code;
  for (;;)
    ;
}

// A broken invariant: say who and what, then power off with failure.
void panic(const char *why) {
  print("panic: ");
  print(why);
  print("\n");
  poweroff((1u << 16) | FINISHER_FAIL);
}
