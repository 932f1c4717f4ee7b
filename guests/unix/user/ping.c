// ping IP [COUNT]: send COUNT (default 3) ICMP echo requests to IP (A.B.C.D) and
// report each reply, then a summary, as ping(8) does.
#include "user.h"

int main(int argc, char **argv)
{
    uint ip;
    if (argc < 2 || argc > 3 || !parse_ip(argv[1], &ip)) {
        printf("usage: ping A.B.C.D [COUNT]\n");
        return 1;
    }
    int count = argc == 3 ? atoi(argv[2]) : 3, received = 0;
    for (int seq = 1; seq <= count; seq++) {
        int r = ping(ip, seq);
        if (r == -2) {
            printf("ping: no network card\n");
            return 1;
        }
        if (r == 0) {
            printf("64 bytes from %s: icmp_seq=%d\n", argv[1], seq);
            received++;
        } else {
            printf("no reply from %s: icmp_seq=%d\n", argv[1], seq);
        }
    }
    printf("%d packets transmitted, %d received\n", count, received);
    return received == count ? 0 : 1;
}
