// The virtio network device in virtio-mmio slot 1 (virtio 1.1, sections 4.2 and 5.1).
// Queue 0 receives, queue 1 transmits.  Every buffer starts with a 12-byte
// virtio_net_hdr (5.1.6); we negotiate no offloads, so it is all zeros on transmit
// and ignored on receive.  Reception is interrupt-driven: the device interrupts
// (PLIC source VIRTIO_NET_IRQ) when it has put frames in the receive queue, and
// net.c's netintr acknowledges (virtio_net_ack) and takes them (virtio_net_recv).
// Transmission is polled: virtio_net_send waits for the device to take the frame,
// with the transmit queue's interrupts suppressed (VRING_AVAIL_F_NO_INTERRUPT,
// 2.7.7), so the card interrupts for received frames only.

#include "defs.h"
#include "virtio.h"

#define VIRTIO_MMIO(r)   (VIRTIO_BASE + VIRTIO_NET_SLOT * VIRTIO_STRIDE + (r))
#define REG(r) DEVREG32(VIRTIO_MMIO(r))
#define VIRTIO_NET_F_MAC  (1u << 5)       // the MAC address is in config space
#define VIRTIO_ID_NET     1

#define RXQ 0
#define TXQ 1
#define QSIZE 8                 // descriptors per queue; each buffer uses one
#define NET_HDR 12              // sizeof(struct virtio_net_hdr) with VERSION_1
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define BUFSIZE (NET_HDR + 1514)  // header + the largest Ethernet frame (no FCS)

struct vring_desc { uint64 addr; uint32 len; uint16 flags, next; };
struct vring_avail { uint16 flags, idx, ring[QSIZE], unused; };
struct vring_used_elem { uint32 id, len; };
struct vring_used { uint16 flags, idx; struct vring_used_elem ring[QSIZE]; uint16 unused; };

// One virtqueue and its buffers; the kernel's RAM is mapped at its physical
// address, so these statics serve as DMA memory.
struct netq {
    struct vring_desc desc[QSIZE] __attribute__((aligned(16)));
    struct vring_avail avail __attribute__((aligned(2)));
    struct vring_used used __attribute__((aligned(4)));
    uint16 used_seen;           // used.idx we have consumed up to
    uint8 buf[QSIZE][BUFSIZE];
};

static struct netq rx __attribute__((aligned(4096)));
static struct netq tx __attribute__((aligned(4096)));
static int present;

// Tell the device where queue qi's three parts are (4.2.3.2).
static void setup_queue(int qi, struct netq *q)
{
    REG(MMIO_QUEUE_SEL) = qi;
    if (REG(MMIO_QUEUE_READY))
        panic("virtio_net_init: queue already in use");
    if (REG(MMIO_QUEUE_NUM_MAX) < QSIZE)
        panic("virtio_net_init: queue too short");
    REG(MMIO_QUEUE_NUM) = QSIZE;
    REG(MMIO_QUEUE_DESC_LOW) = (uint32)q->desc;
    REG(MMIO_QUEUE_DESC_HIGH) = 0;
    REG(MMIO_QUEUE_DRIVER_LOW) = (uint32)&q->avail;
    REG(MMIO_QUEUE_DRIVER_HIGH) = 0;
    REG(MMIO_QUEUE_DEVICE_LOW) = (uint32)&q->used;
    REG(MMIO_QUEUE_DEVICE_HIGH) = 0;
    REG(MMIO_QUEUE_READY) = 1;
}

// Give receive buffer i (descriptor i) back to the device.
static void post_rx(int i)
{
    rx.desc[i] = (struct vring_desc){(uint32)rx.buf[i], BUFSIZE, VRING_DESC_F_WRITE, 0};
    rx.avail.ring[rx.avail.idx % QSIZE] = i;
    __sync_synchronize();               // the descriptor before the index (2.7.13)
    rx.avail.idx++;
}

// Walk the driver initialisation of 3.1.1 and copy the MAC into mac; 1 if a
// network device is ready, 0 if the slot is empty.
int virtio_net_init(uint8 mac[6])
{
    if (REG(MMIO_MAGIC) != VIRTIO_MAGIC || REG(MMIO_DEVICE_ID) != VIRTIO_ID_NET)
        return 0;
    if (REG(MMIO_VERSION) != 2)
        panic("virtio_net_init: not a version 2 (modern) device");
    REG(MMIO_STATUS) = 0;                                   // reset
    uint32 status = STATUS_ACKNOWLEDGE | STATUS_DRIVER;
    REG(MMIO_STATUS) = STATUS_ACKNOWLEDGE;
    REG(MMIO_STATUS) = status;
    // Features: VERSION_1 and MAC; no offloads, no mergeable buffers.
    REG(MMIO_DEV_FEAT_SEL) = 1;
    if (!(REG(MMIO_DEV_FEAT) & VIRTIO_F_VERSION_1_HI))
        panic("virtio_net_init: device lacks VIRTIO_F_VERSION_1");
    REG(MMIO_DEV_FEAT_SEL) = 0;
    if (!(REG(MMIO_DEV_FEAT) & VIRTIO_NET_F_MAC))
        panic("virtio_net_init: device has no MAC address");
    REG(MMIO_DRV_FEAT_SEL) = 0;
    REG(MMIO_DRV_FEAT) = VIRTIO_NET_F_MAC;
    REG(MMIO_DRV_FEAT_SEL) = 1;
    REG(MMIO_DRV_FEAT) = VIRTIO_F_VERSION_1_HI;
    status |= STATUS_FEATURES_OK;
    REG(MMIO_STATUS) = status;
    if (!(REG(MMIO_STATUS) & STATUS_FEATURES_OK))
        panic("virtio_net_init: features not accepted");
    setup_queue(RXQ, &rx);
    tx.avail.flags = VRING_AVAIL_F_NO_INTERRUPT;    // we poll for transmit completions
    setup_queue(TXQ, &tx);
    for (int i = 0; i < 6; i++)
        mac[i] = DEVREG8(VIRTIO_MMIO(MMIO_CONFIG + i));
    status |= STATUS_DRIVER_OK;
    REG(MMIO_STATUS) = status;
    for (int i = 0; i < QSIZE; i++)     // every receive buffer to the device
        post_rx(i);
    __sync_synchronize();
    REG(MMIO_QUEUE_NOTIFY) = RXQ;
    present = 1;
    return 1;
}

// Send one Ethernet frame (len <= 1514 bytes) and wait until the device has taken it.
void virtio_net_send(const void *frame, uint32 len)
{
    if (!present || len > BUFSIZE - NET_HDR)
        panic("virtio_net_send: no device, or frame too long");
    int i = tx.avail.idx % QSIZE;
    memset(tx.buf[i], 0, NET_HDR);
    memcpy(tx.buf[i] + NET_HDR, frame, len);
    tx.desc[i] = (struct vring_desc){(uint32)tx.buf[i], NET_HDR + len, 0, 0};
    tx.avail.ring[i] = i;
    __sync_synchronize();
    tx.avail.idx++;
    __sync_synchronize();
    REG(MMIO_QUEUE_NOTIFY) = TXQ;
    while (*(volatile uint16 *)&tx.used.idx == tx.used_seen)
        ;
    __sync_synchronize();
    tx.used_seen++;
}

// Acknowledge the device's interrupt (4.2.2: InterruptACK takes the bits read in
// InterruptStatus: used buffers, configuration change), which lowers it.  The
// caller then takes every received frame.
void virtio_net_ack(void)
{
    REG(MMIO_INTR_ACK) = REG(MMIO_INTR_STATUS) & 3;
}

// Copy the next received frame (header stripped) into buf, at most max bytes, and
// give its buffer back to the device; the frame's length, or 0 if none has arrived.
uint32 virtio_net_recv(void *buf, uint32 max)
{
    if (!present || *(volatile uint16 *)&rx.used.idx == rx.used_seen)
        return 0;
    __sync_synchronize();
    struct vring_used_elem *e = &rx.used.ring[rx.used_seen % QSIZE];
    uint32 id = e->id, len = e->len;
    rx.used_seen++;
    if (id >= QSIZE)
        panic("virtio_net_recv: bad descriptor id");
    len = len > NET_HDR ? len - NET_HDR : 0;
    if (len > max)
        len = max;
    memcpy(buf, rx.buf[id] + NET_HDR, len);
    post_rx(id);
    __sync_synchronize();
    REG(MMIO_QUEUE_NOTIFY) = RXQ;
    return len;
}
