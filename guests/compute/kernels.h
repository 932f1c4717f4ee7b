// compute's benchmark kernels: plain C on 32-bit unsigned integers, calling
// nothing outside kernels.c.  The guest builds them freestanding; bench/
// scripts and tests build the same files with the host's cc to check the
// checksums the guest prints.
#pragma once

// Exactly 32 bits on the guest (ilp32) and on a 64-bit host alike; taken from
// the compiler so that no libc header is needed.
typedef __UINT32_TYPE__ uint32;

// One kernel: run it `iterations` times on inputs it makes itself from fixed
// seeds, and return a checksum of every result, the same on any machine.
struct kernel {
    const char *name;
    unsigned iterations;
    uint32 (*run)(unsigned iterations);
};

// The benchmark, in the order it runs.
extern const struct kernel kernels[];
extern const unsigned nkernels;
