// mem: how many 4 KiB pages of RAM are free and in use.
#include "user.h"

int main(void)
{
    uint counts[2];
    if (meminfo(counts) < 0)
        return 1;
    printf("pages: %u free, %u used, %u total (4 KiB each)\n",
           counts[0], counts[1] - counts[0], counts[1]);
    return 0;
}
