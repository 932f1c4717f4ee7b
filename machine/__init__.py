"""The physical computer: an RV32IMAC hart with Sv32, a bus, RAM and QEMU-`virt` devices.

`machine` knows nothing of virtual machine monitors or terminals; the VMM (`tuivmm`)
drives it through `Hart.run`, which returns an `Exit` saying why it stopped.
"""
