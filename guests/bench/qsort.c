// qsort: quicksort SORT_N words (default 100,000) filled from xorshift32, for
// loads, stores, compares and unpredictable branches; then check the order and
// fold the sorted array into a checksum.  Prints
//   "qsort: 100000 words, sorted: yes, checksum 0x........"
// The checksum is FNV-1a on whole words, over the words in sorted order: the
// same on any machine (tests compute it with Python's sorted()).

#include "bench.h"

#ifndef SORT_N
#define SORT_N 100000
#endif
#define SORT_SEED 2463534242u       // Marsaglia's example seed
#define SMALL 16                    // runs this short: insertion sort

static uint32 words[SORT_N];

static void insertion_sort(uint32 *a, int n)
{
    for (int i = 1; i < n; i++) {
        uint32 v = a[i];
        int j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

// Hoare's partition around the median of the first, middle and last words;
// recurse into the shorter side and loop on the longer, so the stack stays
// within log2(n) frames.
static void quicksort(uint32 *a, int n)
{
    while (n > SMALL) {
        uint32 x = a[0], y = a[n / 2], z = a[n - 1];
        uint32 pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int i = -1, j = n;
        for (;;) {
            do i++; while (a[i] < pivot);
            do j--; while (a[j] > pivot);
            if (i >= j)
                break;
            uint32 t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        int left = j + 1;           // a[0..j] <= pivot <= a[j+1..n)
        if (left < n - left) {
            quicksort(a, left);
            a += left;
            n -= left;
        } else {
            quicksort(a + left, n - left);
            n = left;
        }
    }
    insertion_sort(a, n);
}

void main(void)
{
    uint32 seed = SORT_SEED;
    for (int i = 0; i < SORT_N; i++)
        words[i] = xorshift32(&seed);

    quicksort(words, SORT_N);

    int sorted = 1;
    uint32 sum = 2166136261u;
    for (int i = 0; i < SORT_N; i++) {
        if (i > 0 && words[i - 1] > words[i])
            sorted = 0;
        sum = (sum ^ words[i]) * 16777619u;
    }
    uart_puts("qsort: ");
    uart_putu(SORT_N, 0);
    uart_puts(" words, sorted: ");
    uart_puts(sorted ? "yes" : "NO");
    uart_puts(", checksum ");
    uart_putx(sum);
    uart_puts("\n");
    power_off();
}
