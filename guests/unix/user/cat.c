// cat NAME...: print the files.

#include "user.h"

int main(int argc, char **argv)
{
    static char buf[512];
    int status = 0;
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], 0), n;
        if (fd < 0) {
            printf("cat: cannot open %s\n", argv[i]);
            status = 1;
            continue;
        }
        while ((n = read(fd, buf, sizeof buf)) > 0)
            write(1, buf, n);
        close(fd);
    }
    return status;
}
