// kill PID...: ask processes to exit.
#include "user.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: kill PID...\n");
        return 1;
    }
    int status = 0;
    for (int i = 1; i < argc; i++)
        if (kill(atoi(argv[i])) < 0) {
            printf("kill: no process %s\n", argv[i]);
            status = 1;
        }
    return status;
}
