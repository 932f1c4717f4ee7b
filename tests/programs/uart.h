// Console output on the NS16550A UART of QEMU's virt board, and tiny printf.
#pragma once

void uart_putc(char c);
void uart_puts(const char *s);

// Only %d %u %x %s %c %%, with an optional width for numbers ("%5d", "%08x").
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
