// The virtio block device in virtio-mmio slot 0 (virtio 1.1, sections 4.2 and 5.2),
// driven one request at a time by polling the used ring: the kernel does not preempt
// itself and a request is short, so no interrupt and no sleeping are needed.

#include "defs.h"
#include "fs.h"
#include "virtio.h"

#define VIRTIO_MMIO(r)   (VIRTIO_BASE + VIRTIO_BLK_SLOT * VIRTIO_STRIDE + (r))
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_BLK_F_RO   (1u << 5)     // the device is read-only (5.2.3)

#define QSIZE 4                 // descriptors: one request uses three

struct vring_desc { uint64 addr; uint32 len; uint16 flags, next; };
struct vring_avail { uint16 flags, idx, ring[QSIZE], unused; };
struct vring_used_elem { uint32 id, len; };
struct vring_used { uint16 flags, idx; struct vring_used_elem ring[QSIZE]; uint16 unused; };

// A block request's header (5.2.6).
#define VIRTIO_BLK_T_IN  0
#define VIRTIO_BLK_T_OUT 1
struct virtio_blk_req { uint32 type, reserved; uint64 sector; };

// The queue's three parts must be physically contiguous and aligned; the kernel's
// RAM is mapped at its physical address, so these statics serve as DMA memory.
static struct {
    struct vring_desc desc[QSIZE] __attribute__((aligned(16)));
    struct vring_avail avail __attribute__((aligned(2)));
    struct vring_used used __attribute__((aligned(4)));
    struct virtio_blk_req req;
    volatile uint8 status;
    uint16 used_seen;           // used.idx we have consumed up to
    int present;
    int readonly;               // VIRTIO_BLK_F_RO was offered (and accepted)
} disk __attribute__((aligned(4096)));

#define REG(r) DEVREG32(VIRTIO_MMIO(r))

// Walk the driver initialisation of 3.1.1; 1 if a block device is ready, 0 if
// the slot is empty.  A device that refuses our features is a broken machine.
int virtio_disk_init(void)
{
    if (REG(MMIO_MAGIC) != VIRTIO_MAGIC || REG(MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK)
        return 0;
    if (REG(MMIO_VERSION) != 2)
        panic("virtio_disk_init: not a version 2 (modern) device");
    REG(MMIO_STATUS) = 0;                                   // reset
    uint32 status = STATUS_ACKNOWLEDGE;
    REG(MMIO_STATUS) = status;
    status |= STATUS_DRIVER;
    REG(MMIO_STATUS) = status;
    // Features: VERSION_1, and RO if the device offers it (5.2.3: the device is
    // read-only, and fails writes); no flush, no anything else.
    REG(MMIO_DEV_FEAT_SEL) = 1;
    if (!(REG(MMIO_DEV_FEAT) & VIRTIO_F_VERSION_1_HI))
        panic("virtio_disk_init: device lacks VIRTIO_F_VERSION_1");
    REG(MMIO_DEV_FEAT_SEL) = 0;
    disk.readonly = (REG(MMIO_DEV_FEAT) & VIRTIO_BLK_F_RO) != 0;
    REG(MMIO_DRV_FEAT_SEL) = 0;
    REG(MMIO_DRV_FEAT) = disk.readonly ? VIRTIO_BLK_F_RO : 0;
    REG(MMIO_DRV_FEAT_SEL) = 1;
    REG(MMIO_DRV_FEAT) = VIRTIO_F_VERSION_1_HI;
    status |= STATUS_FEATURES_OK;
    REG(MMIO_STATUS) = status;
    if (!(REG(MMIO_STATUS) & STATUS_FEATURES_OK))
        panic("virtio_disk_init: features not accepted");
    // Queue 0 (4.2.3.2).
    REG(MMIO_QUEUE_SEL) = 0;
    if (REG(MMIO_QUEUE_READY))
        panic("virtio_disk_init: queue 0 already in use");
    if (REG(MMIO_QUEUE_NUM_MAX) < QSIZE)
        panic("virtio_disk_init: queue 0 too short");
    REG(MMIO_QUEUE_NUM) = QSIZE;
    REG(MMIO_QUEUE_DESC_LOW) = (uint32)disk.desc;
    REG(MMIO_QUEUE_DESC_HIGH) = 0;
    REG(MMIO_QUEUE_DRIVER_LOW) = (uint32)&disk.avail;
    REG(MMIO_QUEUE_DRIVER_HIGH) = 0;
    REG(MMIO_QUEUE_DEVICE_LOW) = (uint32)&disk.used;
    REG(MMIO_QUEUE_DEVICE_HIGH) = 0;
    REG(MMIO_QUEUE_READY) = 1;
    status |= STATUS_DRIVER_OK;
    REG(MMIO_STATUS) = status;
    disk.present = 1;
    return 1;
}

// The disk's size in whole blocks (5.2.4: capacity counts 512-byte sectors).
uint32 virtio_disk_blocks(void)
{
    if (REG(MMIO_CONFIG + 4))
        return 0xffffffffu / (BSIZE / 512);   // more than a 32-bit block number reaches
    return REG(MMIO_CONFIG) / (BSIZE / 512);
}

// Whether the disk is read-only: virtio_disk_rw must not be asked to write.
int virtio_disk_readonly(void)
{
    return disk.readonly;
}

// Read (write = 0) or write block blockno of the disk to/from buf (BSIZE bytes):
// header, data and status descriptors, chained; notify; poll the used ring.
void virtio_disk_rw(void *buf, uint32 blockno, int write)
{
    if (!disk.present)
        panic("virtio_disk_rw: no disk");
    if (write && disk.readonly)
        panic("virtio_disk_rw: write to a read-only disk");
    disk.req.type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
    disk.req.reserved = 0;
    disk.req.sector = (uint64)blockno * (BSIZE / 512);
    disk.status = 0xff;
    disk.desc[0] = (struct vring_desc){(uint32)&disk.req, sizeof disk.req, VRING_DESC_F_NEXT, 1};
    disk.desc[1] = (struct vring_desc){(uint32)buf, BSIZE,
                                       VRING_DESC_F_NEXT | (write ? 0 : VRING_DESC_F_WRITE), 2};
    disk.desc[2] = (struct vring_desc){(uint32)&disk.status, 1, VRING_DESC_F_WRITE, 0};
    disk.avail.ring[disk.avail.idx % QSIZE] = 0;
    __sync_synchronize();               // the descriptors before the index (2.7.13)
    disk.avail.idx++;
    __sync_synchronize();
    REG(MMIO_QUEUE_NOTIFY) = 0;
    while (*(volatile uint16 *)&disk.used.idx == disk.used_seen)
        ;
    __sync_synchronize();
    disk.used_seen++;
    REG(MMIO_INTR_ACK) = REG(MMIO_INTR_STATUS) & 3;
    if (disk.status != 0)
        panic("virtio_disk_rw: request failed");
}
