// fib: the naive doubly recursive Fibonacci, fib(FIB_N) (default 30: 832040),
// for calls, returns and stack frames.  Prints "fib(30) = 832040".

#include "bench.h"

#ifndef FIB_N
#define FIB_N 30
#endif

// noinline, and n read through a volatile, so the compiler can neither fold
// the answer at build time nor inline fib into main.
__attribute__((noinline)) static uint32 fib(uint32 n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static volatile uint32 fib_n = FIB_N;

void main(void)
{
    uint32 n = fib_n;
    uint32 f = fib(n);
    uart_puts("fib(");
    uart_putu(n, 0);
    uart_puts(") = ");
    uart_putu(f, 0);
    uart_puts("\n");
    power_off();
}
