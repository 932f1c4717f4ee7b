// syscalls [N]: make N (default 10000) getpid system calls and say how long they
// took, in clock ticks: a job that is nearly all traps, for measuring their cost.
#include "user.h"

int main(int argc, char **argv)
{
    int n = argc == 2 ? atoi(argv[1]) : 10000;
    if (n <= 0) {
        printf("usage: syscalls [N]\n");
        return 1;
    }
    int start = uptime(), pid = getpid(), same = 0;
    for (int i = 0; i < n; i++)
        same += getpid() == pid;
    printf("syscalls: %d getpid calls in %d ticks\n", same, uptime() - start);
    return same == n ? 0 : 1;
}
