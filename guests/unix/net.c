// A minimal network stack over virtio_net.c: Ethernet, ARP, IPv4 (no options, no
// fragments), ICMP echo and UDP, enough for `ping` and `udp` between machines on
// one wire.
//
// Our address is 10.0.0.N/24 where N is the last byte of the card's MAC, so
// 52:54:00:00:00:01 is 10.0.0.1.  Frames are handled as they arrive, from the
// card's interrupt (netintr), so an idle machine with its clock tick stopped
// still answers ARP and ping.  A process waiting for an answer (ping, udp with a
// timeout) sleeps on the clock and looks again at each tick; one waiting for a
// datagram with no timeout sleeps on its port, and udp_input wakes it.
// Everything runs on one hart with interrupts off in the kernel, so no locks.

#include "defs.h"

#define ETH_HLEN   14
#define ETH_ARP    0x0806
#define ETH_IP     0x0800
#define ARP_REQUEST 1
#define ARP_REPLY   2
#define IP_ICMP     1
#define IP_UDP      17
#define ICMP_ECHO_REPLY   0
#define ICMP_ECHO_REQUEST 8
#define PING_ID     0x7501          // our echo requests' identifier
#define PING_DATA   56              // payload bytes: 64-byte ICMP messages, as ping(8)
#define WAIT_TICKS  (TICK_HZ / 2)   // how long to wait for an ARP or echo reply
#define NARP        4

struct eth { uint8 dst[6], src[6]; uint16 type; } __attribute__((packed));
struct arp {
    uint16 htype, ptype; uint8 hlen, plen; uint16 op;
    uint8 sha[6]; uint8 spa[4]; uint8 tha[6]; uint8 tpa[4];
} __attribute__((packed));
struct ip {
    uint8 vhl, tos; uint16 len, id, frag; uint8 ttl, proto; uint16 sum;
    uint8 src[4], dst[4];
} __attribute__((packed));
struct icmp { uint8 type, code; uint16 sum, id, seq; } __attribute__((packed));
struct udp { uint16 sport, dport, len, sum; } __attribute__((packed));

// UDP ports bound by processes.  Each keeps the datagrams that arrived for it
// until its owner reads them; when its queue is full, newer ones are dropped, as
// are datagrams for ports no one has bound.
#define NPORT      4
#define NQUEUE     4
#define EPHEMERAL  49152            // udp_bind(0) picks a free port from here up
static struct udpport {
    uint16 port;                    // 0: a free slot
    int pid;                        // the owner
    int head, count;                // the queue: q[head], q[head + 1], ...
    struct datagram q[NQUEUE];
} ports[NPORT];
static uint32 udp_dropped;

static uint8 mymac[6];
static uint32 myip;                 // host order; 0 while there is no card
static const uint8 broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static struct { uint32 ip; uint8 mac[6]; } arpcache[NARP];
static int arpnext;                 // the cache slot to reuse next
static uint8 frame[1514];           // receive buffer
static uint8 out[1514];             // transmit buffer
static struct { uint32 ip; uint16 seq; int answered; } pending;

static uint16 htons(uint16 x) { return (x << 8) | (x >> 8); }
static uint32 get_ip(const uint8 *p) { return p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static void put_ip(uint8 *p, uint32 ip)
{
    p[0] = ip >> 24; p[1] = ip >> 16; p[2] = ip >> 8; p[3] = ip;
}

// Add n bytes, as big-endian 16-bit words, to a running ones'-complement sum.
static uint32 sum16(uint32 sum, const void *data, uint32 n)
{
    const uint8 *p = data;
    for (; n > 1; n -= 2, p += 2)
        sum += p[0] << 8 | p[1];
    if (n)
        sum += p[0] << 8;
    return sum;
}

// Fold a running sum into the Internet checksum (RFC 1071), in network order.
static uint16 fold(uint32 sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons(~sum);
}

// The Internet checksum of n bytes.
static uint16 checksum(const void *data, uint32 n) { return fold(sum16(0, data, n)); }

// The UDP checksum of a len-byte datagram u from src to dst: the sum covers a
// pseudo-header (the two addresses, the protocol and the length) too (RFC 768).
static uint16 udp_checksum(uint32 src, uint32 dst, const struct udp *u, uint32 len)
{
    uint8 pseudo[12];
    put_ip(pseudo, src);
    put_ip(pseudo + 4, dst);
    pseudo[8] = 0;
    pseudo[9] = IP_UDP;
    pseudo[10] = len >> 8;
    pseudo[11] = len;
    return fold(sum16(sum16(0, pseudo, sizeof pseudo), u, len));
}

// The cached MAC for ip, or 0.
static uint8 *arp_lookup(uint32 ip)
{
    for (int i = 0; i < NARP; i++)
        if (arpcache[i].ip == ip)
            return arpcache[i].mac;
    return 0;
}

static void arp_remember(uint32 ip, const uint8 *mac)
{
    uint8 *m = arp_lookup(ip);
    if (!m) {
        arpcache[arpnext].ip = ip;
        m = arpcache[arpnext].mac;
        arpnext = (arpnext + 1) % NARP;
    }
    memcpy(m, mac, 6);
}

// Send an ARP packet: a request for tip (tha zero, to everyone) or a reply to tha.
static void arp_send(int op, const uint8 *tha, uint32 tip)
{
    struct eth *e = (struct eth *)out;
    struct arp *a = (struct arp *)(out + ETH_HLEN);
    memcpy(e->dst, op == ARP_REQUEST ? broadcast : tha, 6);
    memcpy(e->src, mymac, 6);
    e->type = htons(ETH_ARP);
    *a = (struct arp){htons(1), htons(ETH_IP), 6, 4, htons(op), {0}, {0}, {0}, {0}};
    memcpy(a->sha, mymac, 6);
    put_ip(a->spa, myip);
    if (op == ARP_REPLY)
        memcpy(a->tha, tha, 6);
    put_ip(a->tpa, tip);
    virtio_net_send(out, 60);       // the Ethernet minimum, padding included
}

// Send an IPv4 packet whose len-byte payload is already at out + ETH_HLEN + 20.
static void ip_send(const uint8 *dmac, uint32 dst, int proto, uint32 len)
{
    static uint16 ident;
    struct eth *e = (struct eth *)out;
    struct ip *h = (struct ip *)(out + ETH_HLEN);
    memcpy(e->dst, dmac, 6);
    memcpy(e->src, mymac, 6);
    e->type = htons(ETH_IP);
    *h = (struct ip){0x45, 0, htons(20 + len), htons(ident++), 0, 64, proto, 0, {0}, {0}};
    put_ip(h->src, myip);
    put_ip(h->dst, dst);
    h->sum = checksum(h, 20);
    uint32 n = ETH_HLEN + 20 + len;
    virtio_net_send(out, n < 60 ? 60 : n);
}

// An ICMP message of n bytes from src (whose MAC is smac): answer echo requests,
// note the echo reply net_ping waits for.
static void icmp_input(const uint8 *smac, uint32 src, struct icmp *m, uint32 n)
{
    if (n < sizeof *m || n > sizeof out - ETH_HLEN - 20 || checksum(m, n) != 0)
        return;
    if (m->type == ICMP_ECHO_REQUEST && m->code == 0) {
        struct icmp *r = (struct icmp *)(out + ETH_HLEN + 20);
        memmove(r, m, n);
        r->type = ICMP_ECHO_REPLY;
        r->sum = 0;
        r->sum = checksum(r, n);
        ip_send(smac, src, IP_ICMP, n);
    } else if (m->type == ICMP_ECHO_REPLY && htons(m->id) == PING_ID &&
               src == pending.ip && htons(m->seq) == pending.seq) {
        pending.answered = 1;
    }
}

static struct udpport *port_of(uint32 port)
{
    for (struct udpport *p = ports; p < &ports[NPORT]; p++)
        if (p->port && p->port == port)
            return p;
    return 0;
}

// A UDP datagram of n bytes from src: queue it on its port, or drop it.
static void udp_input(uint32 src, uint32 dst, struct udp *u, uint32 n)
{
    uint32 len = htons(u->len);
    if (n < sizeof *u || len < sizeof *u || len > n)
        return;
    if (u->sum && udp_checksum(src, dst, u, len) != 0)
        return;                         // damaged (0 means the sender sent none)
    struct udpport *p = port_of(htons(u->dport));
    if (!p || p->count == NQUEUE || len - sizeof *u > UDP_MAX) {
        udp_dropped++;
        return;
    }
    struct datagram *d = &p->q[(p->head + p->count++) % NQUEUE];
    d->ip = src;
    d->port = htons(u->sport);
    d->len = len - sizeof *u;
    memmove(d->data, u + 1, d->len);
    wakeup(p);                          // its owner, if it waits with no timeout
}

// Handle one received frame of n bytes.
static void net_input(uint32 n)
{
    struct eth *e = (struct eth *)frame;
    if (n < ETH_HLEN)
        return;
    if (htons(e->type) == ETH_ARP && n >= ETH_HLEN + sizeof(struct arp)) {
        struct arp *a = (struct arp *)(frame + ETH_HLEN);
        if (htons(a->htype) != 1 || htons(a->ptype) != ETH_IP || a->hlen != 6 || a->plen != 4)
            return;
        uint32 sip = get_ip(a->spa);
        if (get_ip(a->tpa) != myip)
            return;
        arp_remember(sip, a->sha);
        if (htons(a->op) == ARP_REQUEST) {
            uint8 sha[6];
            memcpy(sha, a->sha, 6);
            arp_send(ARP_REPLY, sha, sip);
        }
    } else if (htons(e->type) == ETH_IP && n >= ETH_HLEN + 20) {
        struct ip *h = (struct ip *)(frame + ETH_HLEN);
        uint32 len = htons(h->len);
        if (h->vhl != 0x45 || checksum(h, 20) != 0 || get_ip(h->dst) != myip)
            return;                     // options, a bad header, or not for us
        if ((htons(h->frag) & 0x3fff) || len < 20 || ETH_HLEN + len > n)
            return;                     // a fragment, or truncated
        if (h->proto == IP_ICMP)
            icmp_input(e->src, get_ip(h->src), (struct icmp *)(h + 1), len - 20);
        else if (h->proto == IP_UDP)
            udp_input(get_ip(h->src), myip, (struct udp *)(h + 1), len - 20);
    }
}

// Find the network card and take our address from its MAC.
void netinit(void)
{
    if (!virtio_net_init(mymac))
        return;                         // no card: say nothing, as before
    myip = 10u << 24 | mymac[5];
    plic_enable(VIRTIO_NET_IRQ);        // frames arrive by interrupt (netintr)
    printf("unix: net 10.0.0.%d mac ", mymac[5]);
    for (int i = 0; i < 6; i++)
        printf("%s%c%c", i ? ":" : "", "0123456789abcdef"[mymac[i] >> 4],
               "0123456789abcdef"[mymac[i] & 15]);
    printf("\n");
}

// The card interrupted (trap.c): acknowledge it, then handle every frame that
// has arrived.  In that order, so a frame that arrives meanwhile either is
// handled here or interrupts again.
void netintr(void)
{
    uint32 n;
    virtio_net_ack();
    while (myip && (n = virtio_net_recv(frame, sizeof frame)) != 0)
        net_input(n);
}

// Wait, sleeping on clock ticks, until done() or WAIT_TICKS pass; 1 if done.
static int wait_for(int (*done)(uint32), uint32 arg)
{
    uint32 start = clock_ticks();
    for (;;) {
        if (done(arg))
            return 1;
        if (clock_ticks() - start >= WAIT_TICKS || killed(myproc()))
            return 0;
        clock_sleep();
    }
}

static int arp_known(uint32 ip) { return arp_lookup(ip) != 0; }
static int echo_answered(uint32 unused) { (void)unused; return pending.answered; }

// ip's MAC, asking for it if it is not cached; 0 if no one answers.
static uint8 *arp_resolve(uint32 ip)
{
    if (!arp_lookup(ip)) {
        arp_send(ARP_REQUEST, 0, ip);
        if (!wait_for(arp_known, ip))
            return 0;
    }
    return arp_lookup(ip);
}

// Send echo request seq to ip (host order) and wait for its reply: 0 if it came,
// -1 on timeout (or if ip does not answer ARP), -2 if there is no network card.
int net_ping(uint32 ip, uint32 seq)
{
    if (!myip)
        return -2;
    if (!arp_resolve(ip))
        return -1;
    pending.ip = ip;
    pending.seq = seq;
    pending.answered = 0;
    struct icmp *m = (struct icmp *)(out + ETH_HLEN + 20);
    *m = (struct icmp){ICMP_ECHO_REQUEST, 0, 0, htons(PING_ID), htons(seq)};
    uint8 *data = (uint8 *)(m + 1);
    for (int i = 0; i < PING_DATA; i++)
        data[i] = i;
    m->sum = checksum(m, sizeof *m + PING_DATA);
    ip_send(arp_lookup(ip), ip, IP_ICMP, sizeof *m + PING_DATA);
    return wait_for(echo_answered, 0) ? 0 : -1;
}

// Bind UDP port (1..65535, or 0 for any free port from EPHEMERAL up) to process
// pid: the port, or -1 if it is taken or every slot is in use, -2 with no card.
int udp_bind(uint32 port, int pid)
{
    if (!myip)
        return -2;
    if (port == 0)
        for (port = EPHEMERAL; port <= 0xffff && port_of(port); port++)
            ;
    if (port == 0 || port > 0xffff || port_of(port))
        return -1;
    for (struct udpport *p = ports; p < &ports[NPORT]; p++)
        if (!p->port) {
            *p = (struct udpport){.port = port, .pid = pid};
            return port;
        }
    return -1;
}

// Release port if pid holds it (any port of pid's if port is 0); 0, or -1 if
// pid held none of them.
int udp_unbind(uint32 port, int pid)
{
    int found = -1;
    for (struct udpport *p = ports; p < &ports[NPORT]; p++)
        if (p->port && p->pid == pid && (port == 0 || p->port == port)) {
            p->port = 0;
            found = 0;
        }
    return found;
}

// Send n bytes (at most UDP_MAX) from pid's bound port sport to dport at ip:
// n, or -1 (sport not pid's, too long, no one answers ARP), -2 with no card.
int udp_send(uint32 sport, uint32 ip, uint32 dport, const void *data, uint32 n, int pid)
{
    if (!myip)
        return -2;
    struct udpport *p = port_of(sport);
    if (!p || p->pid != pid || n > UDP_MAX || dport == 0 || dport > 0xffff)
        return -1;
    uint8 *mac = arp_resolve(ip);
    if (!mac)
        return -1;
    struct udp *u = (struct udp *)(out + ETH_HLEN + 20);
    *u = (struct udp){htons(sport), htons(dport), htons(sizeof *u + n), 0};
    memmove(u + 1, data, n);
    u->sum = udp_checksum(myip, ip, u, sizeof *u + n);
    if (u->sum == 0)
        u->sum = 0xffff;                // 0 would mean "no checksum"
    ip_send(mac, ip, IP_UDP, sizeof *u + n);
    return n;
}

// Wait up to timeout ticks (0: for ever) for a datagram on pid's port and take
// it: *d is a copy.  0, or -1 (not pid's port, or killed), -2 on timeout.
int udp_recv(uint32 port, int pid, struct datagram *d, uint32 timeout)
{
    struct udpport *p = port_of(port);
    uint32 start = clock_ticks();
    for (;;) {
        if (!p || p->pid != pid || killed(myproc()))
            return -1;
        if (p->count)
            break;
        if (!timeout) {
            sleep(p);                   // no clock needed: udp_input wakes us
            continue;
        }
        if (clock_ticks() - start >= timeout)
            return -2;
        clock_sleep();
    }
    *d = p->q[p->head];
    p->head = (p->head + 1) % NQUEUE;
    p->count--;
    return 0;
}
