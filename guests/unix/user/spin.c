// spin: a runaway job, looping forever, with a dot now and then to show it runs.
#include "user.h"

int main(void)
{
    printf("spin: pid %d\n", getpid());
    for (volatile uint i = 1;; i++)
        if (i % (1 << 20) == 0)
            write(1, ".", 1);
}
