"""Device models of the QEMU `virt` board, each seen by the bus through offsets.

- `finisher.Finisher`     sifive_test at 0x0010_0000: power off with pass/fail, or reset
- `clint.Clint`           core-local interruptor at 0x0200_0000: msip, mtimecmp, mtime
- `plic.Plic`             platform-level interrupt controller at 0x0C00_0000
- `uart.Uart16550`        NS16550A console at 0x1000_0000 (PLIC source 10)
- `virtio_mmio.VirtioMmio` virtio-mmio version 2 transport, slots at 0x1000_1000 + n*0x1000
- `virtqueue.Virtqueue`   split virtqueues walked in guest RAM (used by the transport)
- `virtio_blk.VirtioBlk`  virtio block device backed by an image file
- `virtio_net.VirtioNet`  virtio network device with a tiny backend protocol
- `netwire`               `Wire` (two NICs back to back) and `NullBackend`

Devices raise interrupts through callables handed to their constructors: hart pins take
`set_pending(bit, level)`, PLIC sources take `irq(level)` from `Plic.irq_line`.
"""
