// rm NAME...: remove the files.

#include "user.h"

int main(int argc, char **argv)
{
    int status = 0;
    for (int i = 1; i < argc; i++) {
        int r = unlink(argv[i]);
        if (r == ERR_READONLY)
            printf("rm: %s: read-only disk\n", argv[i]);
        else if (r < 0)
            printf("rm: cannot remove %s\n", argv[i]);
        status |= r < 0;
    }
    return status;
}
