// ps: list the processes.
#include "user.h"

int main(void)
{
    static const char *states[] = {"unused", "sleep", "runble", "run", "zombie"};
    static struct procinfo info[16];
    int n = procs(info, 16);
    printf("  PID  PPID STATE   SIZE NAME\n");
    for (int i = 0; i < n; i++)
        printf("%5d %5d %-6s %6u %s\n", info[i].pid, info[i].ppid,
               info[i].state >= 0 && info[i].state <= 4 ? states[info[i].state] : "?",
               info[i].sz, info[i].name);
    return 0;
}
