// uptime: clock ticks since boot, and seconds.
#include "user.h"

int main(void)
{
    int t = uptime();
    printf("up %d ticks (%d.%d%d s)\n", t, t / TICK_HZ, t / 10 % 10, t % 10);
    return 0;
}
