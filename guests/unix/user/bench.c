// bench [N]: a CPU-bound job.  N rounds of a sieve of Eratosthenes and an
// xorshift mix over its primes; prints a checksum that depends on every round.
#include "user.h"

#define LIMIT 4096

int main(int argc, char **argv)
{
    static char composite[LIMIT];
    int rounds = argc > 1 ? atoi(argv[1]) : 10;
    uint sum = 0x12345678;
    for (int r = 0; r < rounds; r++) {
        memset(composite, 0, LIMIT);
        for (int i = 2; i * i < LIMIT; i++)
            if (!composite[i])
                for (int j = i * i; j < LIMIT; j += i)
                    composite[j] = 1;
        for (int i = 2; i < LIMIT; i++)
            if (!composite[i]) {
                sum ^= i + r;
                sum ^= sum << 13;
                sum ^= sum >> 17;
                sum ^= sum << 5;
            }
    }
    printf("bench: %d rounds, checksum %x\n", rounds, sum);
    return 0;
}
