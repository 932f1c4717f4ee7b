// udp: send and receive UDP datagrams.
//   udp send IP PORT TEXT...   send the words, joined by spaces, as one datagram
//   udp ask IP PORT TEXT...    send it and print the reply (waits one second)
//   udp listen PORT [COUNT]    print COUNT datagrams (default: until ctrl-C)
//   udp echo PORT              a server: send every datagram back where it came from
#include "user.h"

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

// Bind port (0: any), or say why not and exit.
static int bind(int port)
{
    int bound = udpbind(port);
    if (bound == -2) {
        printf("udp: no network card\n");
        exit(1);
    }
    if (bound < 0) {
        printf("udp: port %d is in use\n", port);
        exit(1);
    }
    return bound;
}

// Join argv[0..] with spaces into msg; its length.
static int join(char **argv)
{
    int n = 0;
    for (int i = 0; argv[i]; i++) {
        if (i > 0 && n < UDP_MAX)
            msg[n++] = ' ';
        for (const char *s = argv[i]; *s && n < UDP_MAX; s++)
            msg[n++] = *s;
    }
    return n;
}

// Print from's address and the n bytes of the datagram in msg, non-printing ones as '.'.
static void show(const char *what, struct udpfrom *from, int n)
{
    printf("%s ", what);
    print_ip(from->ip);
    printf(":%d (%d bytes): ", from->port, n);
    for (int i = 0; i < n && i < UDP_MAX; i++)
        msg[i] = msg[i] >= ' ' && msg[i] < 127 ? msg[i] : '.';
    msg[n < UDP_MAX ? n : UDP_MAX] = 0;
    printf("%s\n", msg);
}

int main(int argc, char **argv)
{
    struct udpfrom from;
    uint ip;
    if (argc < 3)
        usage();
    if (!strcmp(argv[1], "send") || !strcmp(argv[1], "ask")) {
        if (argc < 5 || !parse_ip(argv[2], &ip))
            usage();
        int port = port_arg(argv[3]), me = bind(0), n = join(argv + 4);
        if (udpsend(me, ip, port, msg, n) != n) {
            printf("udp: %s does not answer\n", argv[2]);
            return 1;
        }
        if (!strcmp(argv[1], "send"))
            return 0;
        n = udprecv(me, msg, UDP_MAX, &from, TICK_HZ);
        if (n < 0) {
            printf("udp: no reply from %s:%d\n", argv[2], port);
            return 1;
        }
        show("reply from", &from, n);
        return 0;
    }
    if (!strcmp(argv[1], "listen") || !strcmp(argv[1], "echo")) {
        int echo = !strcmp(argv[1], "echo");
        if (argc > (echo ? 3 : 4))
            usage();
        int port = bind(port_arg(argv[2]));
        int count = argc == 4 ? atoi(argv[3]) : -1;
        printf("udp: %s on port %d\n", echo ? "echoing" : "listening", port);
        for (int got = 0; count < 0 || got < count; got++) {
            int n = udprecv(port, msg, UDP_MAX, &from, 0);
            if (n < 0)
                return 1;               // killed
            if (echo)
                udpsend(port, from.ip, from.port, msg, n);
            show(echo ? "echoed" : "from", &from, n);
        }
        return 0;
    }
    usage();
    return 1;
}
