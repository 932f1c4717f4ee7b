// What trapstorm's files share.
#pragma once

#define CSR_OPS     10000       // sscratch accesses from S-mode, reads and writes
#define ECALLS      1000        // round trips S -> M -> S
#define TIMER_TICKS 5           // M-mode timer interrupts to wait for, then stop

// Kept by the M-mode trap handler, read by S-mode (one hart, no caches to
// worry about: volatile is enough).
extern volatile unsigned ecalls_taken;
extern volatile unsigned timer_ticks;

// mtrap.c
void timer_start(void);

// main.c: S-mode code, entered by start()'s mret.
void smain(void);

// uart.c
void uart_puts(const char *s);
void uart_putu(unsigned n);
void uart_putx(unsigned n);

// The machine's end: the sifive_test finisher at FINISHER_BASE.
void power_off(int failed) __attribute__((noreturn));
