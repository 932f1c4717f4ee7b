// The console as the interpreter sees it: characters out with a count of the
// column they reach (PRINT's commas tab by it, and error messages start on a
// line of their own), and a line editor for what the user types.
//
// Lines end with "\n" alone; the terminal on the other side handles it.

#include "basic.h"

static int col;                 // where the next character lands, from 0

void putch(int c)
{
    uart_putc(c);
    if (c == '\n')
        col = 0;
    else if (c == '\b')
        col = col > 0 ? col - 1 : 0;
    else
        col++;
}

void print(const char *s)
{
    while (*s)
        putch(*s++);
}

void print_int(int n)
{
    char digits[10];
    unsigned u = n < 0 ? -(unsigned)n : (unsigned)n;   // -INT_MIN fits unsigned
    int i = 0;
    do {
        digits[i++] = '0' + u % 10;
        u /= 10;
    } while (u != 0);
    if (n < 0)
        putch('-');
    while (i > 0)
        putch(digits[--i]);
}

void print_newline(void)
{
    if (col != 0)
        putch('\n');
}

int column(void)
{
    return col;
}

// Read one line into buf (LINE_MAX + 1 bytes), echoing it as typed.
// Backspace (DEL or BS) rubs out; CR, LF or CR LF ends the line, and the
// echo ends it with "\n".  Returns the line's length, LINE_BREAK if Ctrl-C was
// typed (the line is dropped), or LINE_TOO_LONG if it outgrew LINE_MAX; either
// way the keys typed after it are still to come.
int readline(char *buf)
{
    static int after_cr;        // LF right after CR is part of the same Enter
    int n = 0;                  // characters typed, even those past LINE_MAX

    for (;;) {
        int c = uart_getc();
        if (c == '\n' && after_cr) {
            after_cr = 0;
            continue;
        }
        after_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            putch('\n');
            if (n > LINE_MAX)
                return LINE_TOO_LONG;
            buf[n] = 0;
            return n;
        }
        if (c == CTRL_C) {
            print_newline();
            return LINE_BREAK;
        }
        if (c == 0x7f || c == '\b') {
            if (n > 0) {
                n--;
                print("\b \b");
            }
            continue;
        }
        if (c < ' ' || c > '~')
            continue;           // other control keys do nothing
        if (n < LINE_MAX)
            buf[n] = c;
        n++;
        putch(c);
    }
}
