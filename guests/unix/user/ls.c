// ls: each file on the disk, its name and its size in bytes.

#include "user.h"

int main(void)
{
    struct dirinfo d;
    int i, r;
    for (i = 0; (r = listdir(i, &d)) == 1; i++)
        if (strcmp(d.name, ".") != 0 && strcmp(d.name, "..") != 0)
            printf("%s %d\n", d.name, d.size);
    if (r < 0) {
        printf("ls: no file system\n");
        return 1;
    }
    return 0;
}
