// virtio-mmio transport (virtio 1.1, 4.2.2): register offsets from a slot's base,
// device status bits (2.1) and the few constants both of our drivers use.  Each
// driver defines VIRTIO_MMIO(r) for its own slot.
#pragma once

#define MMIO_MAGIC       0x000   // "virt"
#define MMIO_VERSION     0x004   // 2: modern
#define MMIO_DEVICE_ID   0x008   // 0: nothing attached
#define MMIO_DEV_FEAT    0x010
#define MMIO_DEV_FEAT_SEL 0x014
#define MMIO_DRV_FEAT    0x020
#define MMIO_DRV_FEAT_SEL 0x024
#define MMIO_QUEUE_SEL   0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM   0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INTR_STATUS 0x060
#define MMIO_INTR_ACK    0x064
#define MMIO_STATUS      0x070
#define MMIO_QUEUE_DESC_LOW   0x080
#define MMIO_QUEUE_DESC_HIGH  0x084
#define MMIO_QUEUE_DRIVER_LOW 0x090
#define MMIO_QUEUE_DRIVER_HIGH 0x094
#define MMIO_QUEUE_DEVICE_LOW 0x0a0
#define MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define MMIO_CONFIG      0x100   // device-specific configuration space

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER      2
#define STATUS_DRIVER_OK   4
#define STATUS_FEATURES_OK 8

#define VIRTIO_MAGIC      0x74726976
#define VIRTIO_F_VERSION_1_HI (1u << 0)   // feature bit 32, in the high word

#define VRING_DESC_F_NEXT  1
#define VRING_DESC_F_WRITE 2    // the device writes this buffer
