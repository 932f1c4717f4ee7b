// Polled output on the NS16550A UART, and the finisher that ends the run.
#pragma once

void uart_puts(const char *s);
void uart_putu(unsigned n, int width);      // decimal, right-aligned in `width`
void uart_putx(unsigned n);                 // 0x and eight hex digits
void power_off(void) __attribute__((noreturn));
