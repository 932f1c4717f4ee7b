// sleep TICKS: do nothing for TICKS clock ticks (TICK_HZ a second).
#include "user.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: sleep TICKS\n");
        return 1;
    }
    return sleep(atoi(argv[1])) < 0;
}
