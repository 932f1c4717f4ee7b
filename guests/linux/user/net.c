// net.c: ping and udp, over the kernel's sockets.  Their usage and output mirror
// our unix guest's ping and udp (guests/unix/user/), so the two guests can talk.
#include "box.h"

// The Internet checksum (RFC 1071): the 16-bit ones' complement of the ones'
// complement sum of the data, taken as 16-bit words.
static uint16_t checksum(const void *data, int n)
{
    const uint16_t *w = data;
    u32 sum = 0;
    for (; n > 1; n -= 2)
        sum += *w++;
    if (n)
        sum += *(const uint8_t *)w;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return ~sum;
}

static uint16_t htons(uint16_t v) { return v << 8 | v >> 8; }

static u64 now_ms(void)
{
    struct __kernel_timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    u32 rest;
    return (u64)ts.tv_sec * 1000 + udiv64(ts.tv_nsec, 1000000, &rest);
}

// Wait up to ms milliseconds for fd to have something to read: 1 if it has.
static int wait_readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

// ping: an ICMP echo request is 8 bytes of header (type 8, code 0, checksum, an
// identifier and a sequence number) and any data: 56 bytes here, 64 in all.  A
// raw socket (root only) sends our ICMP message as it is; reading it gives whole
// IP packets, the IP header (ihl 32-bit words) first.  We wait at most a second
// for each reply, skipping packets that are not our echo's reply.
static int ping_once(int fd, uint32_t ip, int id, int seq)
{
    struct { struct icmphdr h; char data[56]; } req;
    struct sockaddr_in to = {0};
    memset(&req, 0, sizeof req);
    req.h.type = ICMP_ECHO;
    req.h.un.echo.id = htons(id);
    req.h.un.echo.sequence = htons(seq);
    for (int i = 0; i < (int)sizeof req.data; i++)
        req.data[i] = i;
    req.h.checksum = checksum(&req, sizeof req);
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = ip;
    int r = sendto(fd, &req, sizeof req, 0, &to, sizeof to);
    if (r < 0)
        return r;
    u64 deadline = now_ms() + 1000;
    for (u64 t; (t = now_ms()) < deadline;) {
        if (!wait_readable(fd, deadline - t))
            break;
        unsigned char pkt[128];
        struct sockaddr_in from;
        int len = sizeof from;
        int n = recvfrom(fd, pkt, sizeof pkt, 0, &from, &len);
        if (n < 20)
            continue;
        int ihl = (pkt[0] & 15) * 4;
        struct icmphdr *h = (struct icmphdr *)(pkt + ihl);
        if (n >= ihl + 8 && h->type == ICMP_ECHOREPLY && from.sin_addr.s_addr == ip &&
            h->un.echo.id == htons(id) && h->un.echo.sequence == htons(seq))
            return 0;
    }
    return 1;
}

int ping_main(int argc, char **argv)
{
    uint32_t ip;
    if (argc < 2 || argc > 3 || !parse_ip(argv[1], &ip)) {
        printf("usage: ping A.B.C.D [COUNT]\n");
        return 1;
    }
    int count = argc == 3 ? atoi(argv[2]) : 3, received = 0;
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd < 0)
        fail("ping", "socket", fd);
    for (int seq = 1; seq <= count; seq++) {
        int r = ping_once(fd, ip, getpid() & 0xffff, seq);
        if (r < 0)
            fail("ping", argv[1], r);       // e.g. no route: no network card
        if (r == 0) {
            printf("64 bytes from %s: icmp_seq=%d\n", argv[1], seq);
            received++;
        } else {
            printf("no reply from %s: icmp_seq=%d\n", argv[1], seq);
        }
        if (seq < count && r == 0)
            sleep_ns(1000000000);           // one a second, as ping(8) does
    }
    printf("%d packets transmitted, %d received\n", count, received);
    return received == count ? 0 : 1;
}

// --- udp ---
#define UDP_MAX 512                         // as the unix guest's datagrams
static char msg[UDP_MAX + 1];

static void usage(void)
{
    printf("usage: udp send IP PORT TEXT... | udp ask IP PORT TEXT... |\n"
           "       udp listen PORT [COUNT] | udp echo PORT\n");
    exit(1);
}

static int port_arg(const char *s)
{
    int port = atoi(s);
    if (port < 1 || port > 65535)
        usage();
    return port;
}

// A UDP socket bound to port (0: the kernel picks one when we first send).
static int udp_socket(int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        fail("udp", "socket", fd);
    struct sockaddr_in me = {0};
    me.sin_family = AF_INET;
    me.sin_port = htons(port);
    int r = bind(fd, &me, sizeof me);
    if (r == -EADDRINUSE) {
        printf("udp: port %d is in use\n", port);
        exit(1);
    }
    if (r < 0)
        fail("udp", "bind", r);
    return fd;
}

// Join the words with spaces into msg; its length.
static int join(char **words)
{
    int n = 0;
    for (int i = 0; words[i]; i++) {
        if (i > 0 && n < UDP_MAX)
            msg[n++] = ' ';
        for (const char *s = words[i]; *s && n < UDP_MAX; s++)
            msg[n++] = *s;
    }
    return n;
}

// Print the sender and the n bytes in msg, non-printing ones as '.'.
static void show(const char *what, struct sockaddr_in *from, int n)
{
    for (int i = 0; i < n; i++)
        msg[i] = msg[i] >= ' ' && msg[i] < 127 ? msg[i] : '.';
    msg[n] = 0;
    printf("%s %s:%d (%d bytes): %s\n", what, ip_string(from->sin_addr.s_addr),
           htons(from->sin_port), n, msg);
}

int udp_main(int argc, char **argv)
{
    struct sockaddr_in to = {0}, from;
    int fromlen = sizeof from;
    if (argc < 3)
        usage();
    if (!strcmp(argv[1], "send") || !strcmp(argv[1], "ask")) {
        if (argc < 5 || !parse_ip(argv[2], &to.sin_addr.s_addr))
            usage();
        to.sin_family = AF_INET;
        to.sin_port = htons(port_arg(argv[3]));
        int fd = udp_socket(0), n = join(argv + 4);
        int r = sendto(fd, msg, n, 0, &to, sizeof to);
        if (r != n) {
            printf("udp: %s does not answer (%s)\n", argv[2], strerror(-r));
            return 1;
        }
        if (!strcmp(argv[1], "send"))
            return 0;
        if (!wait_readable(fd, 1000) || (n = recvfrom(fd, msg, UDP_MAX, 0, &from, &fromlen)) < 0) {
            printf("udp: no reply from %s:%s\n", argv[2], argv[3]);
            return 1;
        }
        show("reply from", &from, n);
        return 0;
    }
    if (!strcmp(argv[1], "listen") || !strcmp(argv[1], "echo")) {
        int echo = !strcmp(argv[1], "echo");
        if (argc > (echo ? 3 : 4))
            usage();
        int port = port_arg(argv[2]), fd = udp_socket(port);
        int count = argc == 4 ? atoi(argv[3]) : -1;
        printf("udp: %s on port %d\n", echo ? "echoing" : "listening", port);
        for (int got = 0; count < 0 || got < count; got++) {
            fromlen = sizeof from;
            int n = recvfrom(fd, msg, UDP_MAX, 0, &from, &fromlen);
            if (n < 0)
                return 1;
            if (echo)
                sendto(fd, msg, n, 0, &from, fromlen);
            show(echo ? "echoed" : "from", &from, n);
        }
        return 0;
    }
    usage();
    return 1;
}
