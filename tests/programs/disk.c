// A minimal virtio-mmio (version 2) block driver, polling for completions.
// It follows the virtio 1.2 spec step by step: 3.1.1 device initialisation,
// 4.2.3 the MMIO queue set-up, 2.7 split virtqueues, 5.2.6 block requests.
// Then: read sector 0 and print its first 32 bytes, write a pattern to
// sector 1, read it back, compare.  After each request the used-buffer
// interrupt is looked at in the device and in the PLIC (source 1, claimed
// and completed by polling) and acknowledged.

#include "memlayout.h"
#include "riscv.h"
#include "uart.h"

// virtio-mmio registers (4.2.2, table 4.1)
#define MMIO_MAGIC            0x000
#define MMIO_VERSION          0x004
#define MMIO_DEVICE_ID        0x008
#define MMIO_DEVICE_FEATURES  0x010
#define MMIO_DEVICE_FEAT_SEL  0x014
#define MMIO_DRIVER_FEATURES  0x020
#define MMIO_DRIVER_FEAT_SEL  0x024
#define MMIO_QUEUE_SEL        0x030
#define MMIO_QUEUE_NUM_MAX    0x034
#define MMIO_QUEUE_NUM        0x038
#define MMIO_QUEUE_READY      0x044
#define MMIO_QUEUE_NOTIFY     0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK    0x064
#define MMIO_STATUS           0x070
#define MMIO_QUEUE_DESC_LOW   0x080
#define MMIO_QUEUE_DESC_HIGH  0x084
#define MMIO_QUEUE_AVAIL_LOW  0x090
#define MMIO_QUEUE_AVAIL_HIGH 0x094
#define MMIO_QUEUE_USED_LOW   0x0a0
#define MMIO_QUEUE_USED_HIGH  0x0a4
#define MMIO_CONFIG           0x100 // struct virtio_blk_config: capacity first
#define R(off) REG32(VIRTIO0 + (off))

// device status bits (2.1)
#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER      2
#define STATUS_DRIVER_OK   4
#define STATUS_FEATURES_OK 8

#define F_VERSION_1_HIGH 1          // feature bit 32, in the high word

#define NUM 8                       // descriptors in our queue
#define DESC_F_NEXT  1
#define DESC_F_WRITE 2              // the device writes this buffer

#define BLK_T_IN  0
#define BLK_T_OUT 1
#define SECTOR    512

struct virtq_desc {
    unsigned long long addr;
    unsigned len;
    unsigned short flags, next;
};
struct virtq_avail {
    unsigned short flags, idx, ring[NUM], used_event;
};
struct virtq_used_elem {
    unsigned id, len;
};
struct virtq_used {
    unsigned short flags, idx;
    struct virtq_used_elem ring[NUM];
    unsigned short avail_event;
};
struct blk_req {
    unsigned type, reserved;
    unsigned long long sector;
};

static struct {
    struct virtq_desc desc[NUM] __attribute__((aligned(16)));
    struct virtq_avail avail __attribute__((aligned(2)));
    struct virtq_used used __attribute__((aligned(4)));
} queue __attribute__((aligned(PGSIZE)));
static unsigned short last_used;
static struct blk_req header;
static volatile unsigned char status;
static unsigned char buf[SECTOR], check[SECTOR];

static void fail(const char *why)
{
    printf("disk: %s\n", why);
    power_off(1);
}

static void add_status(unsigned bit)
{
    R(MMIO_STATUS) = R(MMIO_STATUS) | bit;
}

// 3.1.1 and 4.2.3.1-2: reset, say hello, agree on features, set up queue 0, go.
static void virtio_init(void)
{
    if (R(MMIO_MAGIC) != 0x74726976 || R(MMIO_VERSION) != 2 || R(MMIO_DEVICE_ID) != 2)
        fail("no virtio-mmio version 2 block device in slot 0");
    printf("virtio: block device, version 2\n");
    R(MMIO_STATUS) = 0;
    add_status(STATUS_ACKNOWLEDGE);
    add_status(STATUS_DRIVER);
    R(MMIO_DEVICE_FEAT_SEL) = 1;
    if (!(R(MMIO_DEVICE_FEATURES) & F_VERSION_1_HIGH))
        fail("device does not offer VIRTIO_F_VERSION_1");
    R(MMIO_DRIVER_FEAT_SEL) = 0;    // nothing device-specific wanted
    R(MMIO_DRIVER_FEATURES) = 0;
    R(MMIO_DRIVER_FEAT_SEL) = 1;
    R(MMIO_DRIVER_FEATURES) = F_VERSION_1_HIGH;
    add_status(STATUS_FEATURES_OK);
    if (!(R(MMIO_STATUS) & STATUS_FEATURES_OK))
        fail("device refused our features");
    printf("virtio: features ok\n");

    R(MMIO_QUEUE_SEL) = 0;
    if (R(MMIO_QUEUE_READY))
        fail("queue 0 already in use");
    if (R(MMIO_QUEUE_NUM_MAX) < NUM)
        fail("queue 0 too small");
    R(MMIO_QUEUE_NUM) = NUM;
    R(MMIO_QUEUE_DESC_LOW) = (unsigned)queue.desc;
    R(MMIO_QUEUE_DESC_HIGH) = 0;
    R(MMIO_QUEUE_AVAIL_LOW) = (unsigned)&queue.avail;
    R(MMIO_QUEUE_AVAIL_HIGH) = 0;
    R(MMIO_QUEUE_USED_LOW) = (unsigned)&queue.used;
    R(MMIO_QUEUE_USED_HIGH) = 0;
    R(MMIO_QUEUE_READY) = 1;
    add_status(STATUS_DRIVER_OK);
    printf("virtio: status %x\n", R(MMIO_STATUS));
}

// One request of three descriptors (5.2.6): header, data, status byte.
// Waits for the device to use it; prints what the device reports.
static void block_rw(unsigned sector, unsigned char *data, int write)
{
    header.type = write ? BLK_T_OUT : BLK_T_IN;
    header.reserved = 0;
    header.sector = sector;
    status = 0xff;
    queue.desc[0] = (struct virtq_desc){(unsigned)&header, sizeof header, DESC_F_NEXT, 1};
    queue.desc[1] = (struct virtq_desc){(unsigned)data, SECTOR,
                                        DESC_F_NEXT | (write ? 0 : DESC_F_WRITE), 2};
    queue.desc[2] = (struct virtq_desc){(unsigned)&status, 1, DESC_F_WRITE, 0};
    queue.avail.ring[queue.avail.idx % NUM] = 0;
    fence();                        // the ring entry before the index (2.7.13)
    queue.avail.idx++;
    fence();
    R(MMIO_QUEUE_NOTIFY) = 0;

    while (*(volatile unsigned short *)&queue.used.idx == last_used)
        ;
    fence();
    struct virtq_used_elem *done = &queue.used.ring[last_used % NUM];
    last_used++;
    // The used-buffer notification: at the device, then at the PLIC, where it
    // is claimed by polling (mie.MEIE is off, so no trap is taken).
    unsigned irq = R(MMIO_INTERRUPT_STATUS);
    unsigned pending = (REG32(PLIC_PENDING) >> VIRTIO0_IRQ) & 1;
    unsigned claimed = REG32(PLIC_MCLAIM);
    R(MMIO_INTERRUPT_ACK) = irq;
    REG32(PLIC_MCLAIM) = claimed;   // complete
    printf("%s sector %u: status %u, used id %u len %u; interrupt status %u, "
           "plic pending %u, claimed irq %u\n",
           write ? "write" : "read", sector, status, done->id, done->len, irq, pending, claimed);
    if (status != 0)
        fail("request failed");
}

int main(void)
{
    REG32(PLIC_PRIORITY(VIRTIO0_IRQ)) = 1;
    REG32(PLIC_MENABLE) = 1u << VIRTIO0_IRQ;
    virtio_init();
    unsigned lo = R(MMIO_CONFIG), hi = R(MMIO_CONFIG + 4);
    printf("capacity: %u sectors (high word %u)\n", lo, hi);

    block_rw(0, buf, 0);
    printf("sector 0: \"");
    for (int i = 0; i < 32; i++)
        uart_putc(buf[i] >= ' ' && buf[i] < 127 ? buf[i] : '.');
    printf("\"\n");

    static const char pattern[] = "disk.c wrote this sector. ";
    for (int i = 0; i < SECTOR; i++)
        buf[i] = pattern[i % (sizeof pattern - 1)];
    block_rw(1, buf, 1);
    block_rw(1, check, 0);
    for (int i = 0; i < SECTOR; i++)
        if (check[i] != buf[i])
            fail("sector 1 reads back different");
    printf("sector 1 verified\n");
    return 0;
}
