// sieve: the sieve of Eratosthenes over the numbers below SIEVE_N (default
// 400,000), one byte each (1 = prime), for byte stores in strides; then
// CRC-32 (IEEE 802.3, as zlib's crc32: reflected, polynomial 0xedb88320, a
// byte at a time from a table) over those SIEVE_N bytes, for table loads and
// shifts.  Prints
//   "sieve: primes below 400000: 33860, crc32 0x........"
// Tests check both against Python (zlib.crc32 of the same flags).

#include "bench.h"

#ifndef SIEVE_N
#define SIEVE_N 400000
#endif

static unsigned char is_prime[SIEVE_N];
static uint32 crc_table[256];

static uint32 sieve(void)
{
    for (uint32 i = 2; i < SIEVE_N; i++)
        is_prime[i] = 1;                    // 0 and 1 stay 0 (.bss)
    for (uint32 p = 2; p * p < SIEVE_N; p++)
        if (is_prime[p])
            for (uint32 m = p * p; m < SIEVE_N; m += p)
                is_prime[m] = 0;
    uint32 count = 0;
    for (uint32 i = 0; i < SIEVE_N; i++)
        count += is_prime[i];
    return count;
}

static uint32 crc32(const unsigned char *data, uint32 n)
{
    for (uint32 b = 0; b < 256; b++) {      // the byte-at-a-time table
        uint32 c = b;
        for (int bit = 0; bit < 8; bit++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[b] = c;
    }
    uint32 crc = 0xffffffffu;
    for (uint32 i = 0; i < n; i++)
        crc = crc_table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

void main(void)
{
    uint32 count = sieve();
    uint32 crc = crc32(is_prime, SIEVE_N);
    uart_puts("sieve: primes below ");
    uart_putu(SIEVE_N, 0);
    uart_puts(": ");
    uart_putu(count, 0);
    uart_puts(", crc32 ");
    uart_putx(crc);
    uart_puts("\n");
    power_off();
}
