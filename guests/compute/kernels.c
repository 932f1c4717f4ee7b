// compute's kernels: CRC-32, shell sort, matrix multiply, prime sieve.
// Each makes its own input from a fixed seed (xorshift32), so the checksums
// depend only on the arithmetic.  Sizes and iteration counts make each kernel
// 1.2 to 1.8 million RV32 instructions, about 6.3 million in all.  No libc:
// plain loops over uint32.

#include "kernels.h"

// Marsaglia's xorshift32: a cheap, fixed stream of pseudo-random words.
static uint32 xorshift32(uint32 *state)
{
    uint32 x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

// Fold a word into a running checksum (FNV-1a style, on whole words).
static uint32 mix(uint32 sum, uint32 word)
{
    return (sum ^ word) * 16777619u;
}

// --- CRC-32 (IEEE 802.3, as zlib's crc32): reflected, polynomial 0xedb88320 ---

#define CRC_BYTES 4096

static uint32 crc_table[256];
static unsigned char crc_data[CRC_BYTES];

// The CRC of `iterations` copies of a 4 KiB buffer, as one stream.
static uint32 crc32_run(unsigned iterations)
{
    for (uint32 n = 0; n < 256; n++) {      // the byte-at-a-time table
        uint32 c = n;
        for (int bit = 0; bit < 8; bit++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
    uint32 seed = 0x12345678;
    for (int i = 0; i < CRC_BYTES; i++)
        crc_data[i] = (unsigned char)xorshift32(&seed);

    uint32 crc = 0xffffffffu;
    for (unsigned it = 0; it < iterations; it++)
        for (int i = 0; i < CRC_BYTES; i++)
            crc = crc_table[(crc ^ crc_data[i]) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

// --- Shell sort with Ciura's gaps: insertion sort over ever-closer strides ---

#define SORT_N 2048

static uint32 sort_data[SORT_N];
static const unsigned gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};

static void shell_sort(uint32 *a, unsigned n)
{
    for (unsigned g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        unsigned gap = gaps[g];
        for (unsigned i = gap; i < n; i++) {
            uint32 v = a[i];
            unsigned j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap)
                a[j] = a[j - gap];
            a[j] = v;
        }
    }
}

// Sort a fresh random array each iteration; checksum the sorted arrays.  An
// out-of-order neighbour is folded in too, so a broken sort cannot hide.
static uint32 sort_run(unsigned iterations)
{
    uint32 seed = 0x9e3779b9, sum = 2166136261u;
    for (unsigned it = 0; it < iterations; it++) {
        for (int i = 0; i < SORT_N; i++)
            sort_data[i] = xorshift32(&seed);
        shell_sort(sort_data, SORT_N);
        for (int i = 0; i < SORT_N; i++) {
            sum = mix(sum, sort_data[i]);
            if (i > 0 && sort_data[i - 1] > sort_data[i])
                sum = mix(sum, 0xbad0bad0u);
        }
    }
    return sum;
}

// --- Matrix multiply: c = a * b on 24 x 24 matrices, modulo 2^32 ---

#define MAT_N 24

static uint32 mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];

// Each iteration multiplies, then feeds the product back in as the next `a`.
static uint32 matmul_run(unsigned iterations)
{
    uint32 seed = 0x2545f491, sum = 2166136261u;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            mat_a[i][j] = xorshift32(&seed);
            mat_b[i][j] = xorshift32(&seed);
        }
    for (unsigned it = 0; it < iterations; it++) {
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                uint32 dot = 0;
                for (int k = 0; k < MAT_N; k++)
                    dot += mat_a[i][k] * mat_b[k][j];
                mat_c[i][j] = dot;
            }
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                sum = mix(sum, mat_c[i][j]);
                mat_a[i][j] = mat_c[i][j];
            }
    }
    return sum;
}

// --- Sieve of Eratosthenes over 0 .. 32767 ---

#define SIEVE_N 32768

static unsigned char composite[SIEVE_N];

// Checksum: the count of primes found and every prime, each time round.
static uint32 sieve_run(unsigned iterations)
{
    uint32 sum = 2166136261u;
    for (unsigned it = 0; it < iterations; it++) {
        for (int i = 0; i < SIEVE_N; i++)
            composite[i] = 0;
        uint32 count = 0;
        for (uint32 p = 2; p < SIEVE_N; p++) {
            if (composite[p])
                continue;
            count++;
            sum = mix(sum, p);
            for (uint32 m = p * p; m < SIEVE_N; m += p)
                composite[m] = 1;
        }
        sum = mix(sum, count);
    }
    return sum;
}

const struct kernel kernels[] = {
    {"crc32", 40, crc32_run},
    {"sort", 4, sort_run},
    {"matmul", 16, matmul_run},
    {"sieve", 3, sieve_run},
};
const unsigned nkernels = sizeof kernels / sizeof kernels[0];
