// Physical memory of the board every guest runs on: QEMU's `virt` machine, as
// machine/board.py builds it.  This file is the only place guests keep addresses,
// and tests/test_guests.py checks every number here against machine/board.py.
//
//   0x0010_0000  sifive_test finisher   0x5555 pass, (code << 16) | 0x3333 fail, 0x7777 reset
//   0x0200_0000  CLINT                  msip +0, mtimecmp +0x4000, mtime +0xBFF8
//   0x0C00_0000  PLIC                   context 0 = hart 0 M-mode, 1 = S-mode
//   0x1000_0000  UART0 (NS16550A)       IRQ 10
//   0x1000_1000  virtio-mmio slot 0     IRQ 1: the block device
//   0x1000_2000  virtio-mmio slot 1     IRQ 2: the network device
//   0x8000_0000  RAM                    images are linked and entered here, in M-mode
#pragma once

#define FINISHER_BASE   0x00100000UL
#define CLINT_BASE      0x02000000UL
#define PLIC_BASE       0x0C000000UL
#define UART0_BASE      0x10000000UL
#define UART0_IRQ       10
#define VIRTIO_BASE     0x10001000UL
#define VIRTIO_STRIDE   0x1000UL
#define VIRTIO_IRQ_BASE 1
#define VIRTIO_BLK_SLOT 0
#define VIRTIO_NET_SLOT 1
#define RAM_BASE        0x80000000UL

// Registers inside the devices.
#define CLINT_MSIP      (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP  (CLINT_BASE + 0x4000)
#define CLINT_MTIME     (CLINT_BASE + 0xBFF8)
#define TIMEBASE_HZ     10000000

#define FINISHER_PASS   0x5555
#define FINISHER_FAIL   0x3333
#define FINISHER_RESET  0x7777
