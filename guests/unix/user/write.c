// write NAME TEXT...: make file NAME hold the words, one space apart, and "\n".

#include "user.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: write NAME TEXT...\n");
        return 1;
    }
    int fd = open(argv[1], O_CREATE | O_TRUNC);
    if (fd == ERR_READONLY) {
        printf("write: read-only disk\n");
        return 1;
    }
    if (fd < 0) {
        printf("write: cannot open %s\n", argv[1]);
        return 1;
    }
    int ok = 1;
    for (int i = 2; i < argc; i++) {
        int n = strlen(argv[i]);
        if (i > 2)
            ok &= write(fd, " ", 1) == 1;
        ok &= write(fd, argv[i], n) == n;
    }
    ok &= write(fd, "\n", 1) == 1;
    close(fd);
    if (!ok) {
        printf("write: %s: disk full\n", argv[1]);
        return 1;
    }
    return 0;
}
