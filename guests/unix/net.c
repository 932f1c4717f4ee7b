// A minimal network stack over virtio_net.c: Ethernet, ARP, IPv4 (no options, no
// fragments) and ICMP echo, enough for `ping` between two machines on one wire.
//
// Our address is 10.0.0.N/24 where N is the last byte of the card's MAC, so
// 52:54:00:00:00:01 is 10.0.0.1.  Frames are polled, never interrupt-driven: the
// clock tick calls net_poll, and so does net_ping while it waits for a reply.
// Everything runs on one hart with interrupts off in the kernel, so no locks.

#include "defs.h"

#define ETH_HLEN   14
#define ETH_ARP    0x0806
#define ETH_IP     0x0800
#define ARP_REQUEST 1
#define ARP_REPLY   2
#define IP_ICMP     1
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

// The Internet checksum (RFC 1071) of n bytes.
static uint16 checksum(const void *data, uint32 n)
{
    const uint8 *p = data;
    uint32 sum = 0;
    for (; n > 1; n -= 2, p += 2)
        sum += p[0] << 8 | p[1];
    if (n)
        sum += p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons(~sum);
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
    }
}

// Find the network card and take our address from its MAC.
void netinit(void)
{
    if (!virtio_net_init(mymac))
        return;                         // no card: say nothing, as before
    myip = 10u << 24 | mymac[5];
    printf("unix: net 10.0.0.%d mac ", mymac[5]);
    for (int i = 0; i < 6; i++)
        printf("%s%c%c", i ? ":" : "", "0123456789abcdef"[mymac[i] >> 4],
               "0123456789abcdef"[mymac[i] & 15]);
    printf("\n");
}

// Handle every frame that has arrived.
void net_poll(void)
{
    uint32 n;
    while (myip && (n = virtio_net_recv(frame, sizeof frame)) != 0)
        net_input(n);
}

// Wait, sleeping on clock ticks, until done() or WAIT_TICKS pass; 1 if done.
static int wait_for(int (*done)(uint32), uint32 arg)
{
    uint32 start = ticks;
    for (;;) {
        net_poll();
        if (done(arg))
            return 1;
        if (ticks - start >= WAIT_TICKS || killed(myproc()))
            return 0;
        sleep((void *)&ticks);
    }
}

static int arp_known(uint32 ip) { return arp_lookup(ip) != 0; }
static int echo_answered(uint32 unused) { (void)unused; return pending.answered; }

// Send echo request seq to ip (host order) and wait for its reply: 0 if it came,
// -1 on timeout (or if ip does not answer ARP), -2 if there is no network card.
int net_ping(uint32 ip, uint32 seq)
{
    if (!myip)
        return -2;
    if (!arp_lookup(ip)) {
        arp_send(ARP_REQUEST, 0, ip);
        if (!wait_for(arp_known, ip))
            return -1;
    }
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
