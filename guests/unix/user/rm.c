// rm NAME...: remove the files.

#include "user.h"

int main(int argc, char **argv)
{
    int status = 0;
    for (int i = 1; i < argc; i++)
        if (unlink(argv[i]) < 0) {
            printf("rm: cannot remove %s\n", argv[i]);
            status = 1;
        }
    return status;
}
