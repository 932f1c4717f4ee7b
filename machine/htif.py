"""HTIF: the host-target interface of Spike and the riscv-tests.

A program that defines the symbols `tohost` (and `fromhost`) talks to the host by
storing a 64-bit command into tohost:

* bit 0 set, device 0: the run is over; the exit code is value >> 1 (0 means pass).
  riscv-tests report failure of test N as (N << 1) | 1.
* device 1, command 1 (bits 63:56 = 1, 55:48 = 1): console putchar of the low byte.
* otherwise, device 0, command 0, bit 0 clear: a pointer to a "magic memory" block of
  eight 64-bit words, a proxied system call: [which, arg0, arg1, ...].  Only write
  (64) to fd 1 or 2 and exit (93) are served; the host then writes 1 to fromhost.

On RV32 the 64-bit command is written as two 32-bit stores, in either order; the host
acts once both halves have been written since it last cleared tohost, then clears it
(as Spike's front end does).

Which images get HTIF (`wants_htif`) is one rule: an ELF whose `tohost` lies in a
section named `.tohost`, as riscv-tests' env (link.ld) and its followers lay it out.
Those images use HTIF unconditionally, as on Spike.  Any other `tohost` is stray
as far as this board goes: OpenSBI and bbl keep theirs in `.htif` for a driver they
start only when the device tree names HTIF, and QEMU's virt (whose tree never does,
nor ours: machine/devicetree.py) gives them none; a C program may have a variable of
that name.  Such an image runs as on QEMU's virt, its stores to `tohost` plain
stores.  An assembly file for our own assembler has no sections: a `tohost` label
there asks for HTIF (tuivmm/cli/common.py).
"""

from __future__ import annotations

from machine.memory import Ram, RamError

SYS_WRITE = 64
SYS_EXIT = 93


HTIF_SECTION = ".tohost"


def wants_htif(image) -> bool:
    """Whether a loaded ELF `image` (machine.loader.Image) gets HTIF: its `tohost`
    is in a `.tohost` section (the module's docstring says why)."""
    return "tohost" in image.symbols and image.tohost_section == HTIF_SECTION


class Htif:
    def __init__(self, hart, ram: Ram, tohost: int, fromhost: int | None):
        self.hart = hart
        self.ram = ram
        self.tohost = tohost
        self.fromhost = fromhost
        self.on_output = lambda data: None
        self._written = set()
        hart.add_watch(tohost, self._stored)
        hart.add_watch(tohost + 4, self._stored)

    def save_state(self) -> dict:
        """Where tohost/fromhost are and which halves of a command have been written."""
        return {"tohost": self.tohost, "fromhost": self.fromhost, "written": sorted(self._written)}

    def load_state(self, state: dict) -> None:
        """Put back the half-written command of `save_state` (the addresses are the
        board's to attach: `Board.attach_htif`)."""
        self._written = {addr for addr in state["written"] if addr in (self.tohost, self.tohost + 4)}

    def _stored(self, addr: int, value: int) -> None:
        self._written.add(addr)
        if len(self._written) < 2:
            return
        self._written.clear()
        command = self.ram.read_u32(self.tohost) | (self.ram.read_u32(self.tohost + 4) << 32)
        if command == 0:
            return
        self.ram.write_bytes(self.tohost, bytes(8))
        device, cmd, payload = command >> 56, (command >> 48) & 0xFF, command & 0xFFFF_FFFF_FFFF
        if device == 0 and payload & 1:
            code = payload >> 1
            self.hart.request_halt("pass" if code == 0 else "fail", code)
        elif device == 1 and cmd == 1:
            self.on_output(bytes([payload & 0xFF]))
        elif device == 0 and cmd == 0:
            self._syscall(payload)

    def _syscall(self, magic: int) -> None:
        try:
            args = [int.from_bytes(self.ram.read_bytes(magic + 8 * k, 8), "little") for k in range(4)]
        except RamError:
            self.hart.request_halt("fail", 0xFFFF)  # a pointer outside RAM: the program is broken
            return
        which, a0, a1, a2 = args
        if which == SYS_WRITE and a0 in (1, 2):
            try:
                self.on_output(self.ram.read_bytes(a1, a2))
                result = a2
            except RamError:
                result = -14 & 0xFFFF_FFFF_FFFF_FFFF  # -EFAULT
        elif which == SYS_EXIT:
            self.hart.request_halt("pass" if a0 == 0 else "fail", a0)
            return
        else:
            result = -38 & 0xFFFF_FFFF_FFFF_FFFF  # -ENOSYS
        self.ram.write_bytes(magic, result.to_bytes(8, "little"))
        if self.fromhost is not None:
            self.ram.write_bytes(self.fromhost, (1).to_bytes(8, "little"))
