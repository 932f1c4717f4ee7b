// What the benchmark programs share: 32-bit words, the xorshift32 stream that
// makes their inputs, polled output on the UART and the finisher that ends the
// run.  Each program is one .c file with main(), linked with the compute guest's
// entry.S and uart.c (bench/guest.mk).
#pragma once

#include "../compute/uart.h"

// Exactly 32 bits on the guest (ilp32); taken from the compiler, no libc header.
typedef __UINT32_TYPE__ uint32;

// Marsaglia's xorshift32: a cheap, fixed stream of pseudo-random words.
static inline uint32 xorshift32(uint32 *state)
{
    uint32 x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

