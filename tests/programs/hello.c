// A whole-system test program: prints text that depends on loads and stores,
// the M extension (including its edge cases), the A extension, recursion and
// byte handling, so any difference between two machines shows in the console.
// tests/test_programs_qemu.py knows what it must print.

#include <stddef.h>
#include "uart.h"

size_t strlen(const char *s);

// Hide a constant from the compiler, so the operation happens at run time.
static int opaque(int x)
{
    asm volatile("" : "+r"(x));
    return x;
}

// The division instructions themselves: C leaves x/0 and INT_MIN/-1 undefined,
// the ISA defines them (unprivileged spec, "Division Operations").
#define RTYPE(insn)                                                   \
    static int insn##_(int a, int b)                                  \
    {                                                                 \
        int r;                                                        \
        asm volatile(#insn " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); \
        return r;                                                     \
    }
RTYPE(div) RTYPE(divu) RTYPE(rem) RTYPE(remu) RTYPE(mulh) RTYPE(mulhu) RTYPE(mulhsu)

#define AMO(name, insn)                                                          \
    static int name(volatile int *p, int v)                                      \
    {                                                                            \
        int old;                                                                 \
        asm volatile(insn " %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(v) : "memory"); \
        return old;                                                              \
    }
AMO(amomax_w, "amomax.w") AMO(amominu_w, "amominu.w") AMO(amoor_w, "amoor.w")
AMO(amoand_w, "amoand.w") AMO(amoxor_w, "amoxor.w")

static int fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static void reverse(char *s)
{
    for (size_t i = 0, j = strlen(s); i + 1 < j; i++, j--) {
        char c = s[i];
        s[i] = s[j - 1];
        s[j - 1] = c;
    }
}

static void upcase(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s -= 'a' - 'A';
}

static int count_vowels(const char *s)
{
    int n = 0;
    for (; *s; s++)
        for (const char *v = "aeiouAEIOU"; *v; v++)
            n += *s == *v;
    return n;
}

static void numbers(void)
{
    printf("decimal: %d %d %d %d %d %u\n", opaque(0), opaque(7), opaque(-1),
           opaque(2147483647), opaque(-2147483647 - 1), (unsigned)opaque(-294967296));
    printf("hex: %x %x %08x [%6x]\n", opaque(0), opaque(0xdeadbeef), opaque(42), opaque(0xcafe));
    printf("padded: [%5d] [%5d] [%05d]\n", opaque(42), opaque(-42), opaque(-42));
}

static void multiplication_table(void)
{
    printf("multiplication table:\n");
    for (int i = opaque(1); i <= 9; i++) {
        for (int j = 1; j <= 9; j++)
            printf("%3d", i * j);
        printf("\n");
    }
}

static void division(void)
{
    static const int pairs[][2] = {{17, 5}, {-17, 5}, {17, -5}, {-17, -5}, {1000000, 7}};
    printf("division:\n");
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        int a = opaque(pairs[i][0]), b = opaque(pairs[i][1]);
        printf("  %d / %d = %d rem %d\n", a, b, a / b, a % b);
    }
    int x = opaque(1234), zero = opaque(0), int_min = opaque(-2147483647 - 1);
    printf("  div by zero: %d %x %d %d\n", div_(x, zero), divu_(x, zero), rem_(x, zero),
           remu_(x, zero));
    printf("  overflow: %d %d\n", div_(int_min, opaque(-1)), rem_(int_min, opaque(-1)));
    printf("  mulh: %x %x %x\n", mulh_(opaque(0x12345678), opaque(0x9abcdef0)),
           mulhu_(opaque(0x12345678), opaque(0x9abcdef0)),
           mulhsu_(opaque(-2), opaque(0x80000000)));
}

static void strings(void)
{
    char word[] = "tuivmm";
    char greeting[] = "hello, world";
    reverse(word);
    upcase(greeting);
    printf("strings: %s %s vowels=%d len=%d\n", word, greeting,
           count_vowels("Virtual Machine Monitor"), (int)strlen(greeting));
}

static volatile int counter;

// Initialised data: the loader must copy it from the file.
static int primes[] = {2, 3, 5, 7, 11, 13, 17, 19};

static void data(void)
{
    int sum = 0;
    for (size_t i = 0; i < sizeof primes / sizeof primes[0]; i++) {
        primes[i] *= opaque(3);     // stores, then loads back below
        sum += primes[i];
    }
    printf("data: primes*3 sum=%d last=%d\n", sum, primes[7]);
}

static void atomics(void)
{
    counter = opaque(10);
    int before = __atomic_fetch_add(&counter, 5, __ATOMIC_SEQ_CST);         // amoadd.w
    int swapped = __atomic_exchange_n(&counter, 100, __ATOMIC_SEQ_CST);    // amoswap.w
    int expected = 100;
    int won = __atomic_compare_exchange_n(&counter, &expected, 200, 0,      // lr.w/sc.w
                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    int old_max = amomax_w(&counter, -5);
    int old_minu = amominu_w(&counter, -5);    // unsigned: 200 < 0xfffffffb
    amoor_w(&counter, 0x1000);
    amoand_w(&counter, 0x10ff);
    amoxor_w(&counter, 0xff);
    printf("atomics: %d %d %d %d %d %x\n", before, swapped, won, old_max, old_minu, counter);
}

int main(void)
{
    printf("Hello from a RISC-V test program!\n");
    numbers();
    multiplication_table();
    division();
    strings();
    printf("fib(20) = %d\n", fib(opaque(20)));
    atomics();
    data();
    printf("bye\n");
    return 0;
}
