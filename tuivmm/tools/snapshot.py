"""Snapshots: a guest saved to one file, and restored into a VMM — this one or another
process's — to go on exactly as it would have.  (The file's framing — magic, version,
checksum, written aside — is `tuivmm.tools.snapfile`'s.)

What a snapshot holds: in its JSON header, the machine (the ERET flaw), the guest
(name, remedy, who serves its SBI calls, RAM size, MAC, run state, console input
not yet read, the LR reservation it holds on the real hart), the VMM's counters for
it, the virtual hart (`ArchState.save_state`), every device (`Board.save_state`:
with --sbi vmm, the CLINT holds the SBI timer's deadline) and binary translation's
patches; in its sections, "ram" (a record for each page that holds
anything, its zero tail left off), "output" (the console so far), "image" (the boot
image) and "disk" (the disk image's contents).

What is not saved, because it is rebuilt: shadow page tables, the real hart's TLBs
and translated code (dropped on restore; hidden faults fill them again), the trap
log's events (its counters are kept), the virtual switch's learned MACs.  Binary
translation is saved as it stands — RAM with its trap words, and the original of
every patched word and the scanned pages — so the guest runs on exactly as before,
and switching the remedy off later still puts the originals back.

The snapshot carries its boot image (the ELF's loaded segments, or the assembled
program), so a restore needs neither the image file nor the same version of it:
RAM already holds what was loaded, and a reset after a restore boots the carried
image, as the saved guest would have.  The path and the image's sha256 are kept for
people to read, not checked.

Its disk's contents are carried too.  On restore the guest gets a throwaway copy
(unlinked as soon as the device has it open, so nothing is left behind), or a file
the caller names: a new one, written aside and renamed; an existing one only if it
holds exactly the saved contents (the disk the snapshot was taken with, untouched
since), so no one's data is ever overwritten.

`save_guest` and `restore_guest` run on the thread that runs the guests (the event
loop's), between two slices, while other guests go on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path

from machine.board import RAM_BASE
from machine.cpu.asm import Program
from machine.devices.virtqueue import VirtqueueError
from machine.loader import Image, Segment
from machine.memory import Ram, RamWindow
from tuivmm import __version__
from tuivmm.tools.snapfile import (
    FORMAT_VERSION,
    Snapshot,
    SnapshotError,
    encode_file,
    file_sha256,
    read_snapshot,
    write_aside,
)
from tuivmm.vmm.monitor import Guest, GuestState, Vmm, VmmError

__all__ = ["FORMAT_VERSION", "Snapshot", "SnapshotError", "read_snapshot", "restore_guest", "save_guest"]

PAGE = 4096
BLOCK = 64 * 1024  # zero pages are found a block at a time, then a page at a time
HEAD = 64  # bytes of a page's start that may hold something while the rest is zero
_ZERO_TAIL = bytes(PAGE - HEAD)
_RECORD = struct.Struct("<IH")  # a RAM page: its number, how many bytes before its zero tail
_ZERO_BLOCK = bytes(BLOCK)
_BLANK = Program(b"", RAM_BASE, {}, RAM_BASE)  # what a restored guest is built from, then overwritten


# --- saving -----------------------------------------------------------------------------


def save_guest(guest: Guest, path: str | os.PathLike[str]) -> int:
    """Write `guest`'s snapshot to `path`, whole or not at all (written beside it,
    synced, then renamed over it), and return its size in bytes.  A crashed guest is
    refused: its state is whatever the VMM could not emulate.  SnapshotError says why
    it could not be written; an existing file at `path` is then left as it was."""
    path = os.fspath(path)
    if guest.state is GuestState.CRASHED:
        raise SnapshotError(f"{guest.name} crashed ({guest.reason}); a crashed guest cannot be saved")
    board = guest.board
    devices = board.save_state()
    sections = {"output": devices.pop("output")}
    pages, sections["ram"] = _ram_records(guest.window)
    image_header, sections["image"] = _image_of(guest)
    disk = None
    if board.blk is not None:
        try:
            content = board.blk.read_image()
        except OSError as exc:
            raise SnapshotError(f"{guest.name}: cannot read its disk {board.blk.path}: {exc.strerror or exc}") from None
        sections["disk"] = content
        disk = {"name": os.path.basename(board.blk.path), "path": board.blk.path, "read_only": board.blk.read_only,
                "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}  # fmt: skip
    bt = guest.bt
    log = guest.log
    header = {
        "tuivmm": __version__,
        "machine": {"flawed_eret": guest.vmm.flawed_eret},
        "guest": {
            "name": guest.name, "remedy": guest.remedy, "sbi": guest.sbi, "ram_size": guest.window.size,
            "mac": board.net.mac if board.net is not None else None,
            "state": "halted" if guest.state is GuestState.HALTED else "running",
            "halt": list(guest.halt) if guest.halt is not None else None, "reason": guest.reason,
            "input": bytes(guest.input), "input_interactive": guest.input_interactive, "fed_at": guest._fed_at,
            "asked": guest._asked,
            "stalled": guest._stalled, "lr_reservation": _held_reservation(guest),
        },
        "counters": {
            "hidden_faults": guest.hidden_faults, "true_faults": guest.true_faults, "flushes": guest.flushes,
            "page_flushes": guest.page_flushes,
            "direct_instructions": guest.direct_instructions, "emulated_instructions": guest.emulated_instructions,
            "slices": guest.slices, "exits": log.total, "by_reason": log.counts, "by_action": log.actions,
            "retired_earlier": guest.retired_earlier,
            "frames_in": guest.port.frames_in if guest.port else 0,
            "frames_out": guest.port.frames_out if guest.port else 0,
        },
        "vcpu": guest.vcpu.save_state(),
        "devices": devices,
        "ram": {"pages": pages},
        "image": image_header,
        "bt": None if bt is None else {"scanned": sorted(bt.scanned), "patched": sorted(bt.patched.items()),
                                       "starts": sorted(bt.starts.items()), "scans": bt.scans,
                                       "patches": bt.patches},
        "disk": disk,
    }  # fmt: skip
    return write_aside(path, encode_file(header, sections))


def _held_reservation(guest: Guest) -> int | None:
    """The guest-physical address of the LR reservation the guest holds on the real
    hart, if it is loaded there (its LR/SC run natively, so the reservation lives in
    the real hart, across slices), else None."""
    vmm = guest.vmm
    reservation = vmm.hart.reservation
    if vmm.loaded is not guest or reservation is None:
        return None
    offset = reservation - guest.window.host_base
    return guest.window.base + offset if 0 <= offset < guest.window.size else None


def _ram_records(ram: Ram) -> tuple[int, bytes]:
    """Guest RAM as records, one per page that holds anything: page number (u32),
    length n (u16) and the page's first n bytes, the rest of the page being zero.
    (A guest of 128 MiB leaves most pages zero, or — a free list — zero but for a
    word at the start; such pages cost a few bytes.)  Returns (how many records,
    their bytes)."""
    source, start = _backing(ram)
    parts: list[bytes] = []
    for block in range(0, ram.size, BLOCK):
        data = bytes(source[start + block : start + min(block + BLOCK, ram.size)])
        if data == _ZERO_BLOCK:
            continue
        for off in range(0, len(data), PAGE):
            # Comparing whole slices runs at memcmp speed; trimming a page byte by
            # byte would not, so only a page's head is trimmed.
            if data[off + HEAD : off + PAGE] == _ZERO_TAIL:
                used = data[off : off + HEAD].rstrip(b"\0")
                if not used:
                    continue
            else:
                used = data[off : off + PAGE]
            parts.append(_RECORD.pack((block + off) // PAGE, len(used)))
            parts.append(used)
    return len(parts) // 2, b"".join(parts)


def _backing(ram: Ram) -> tuple:
    """(the buffer holding `ram`'s bytes, where they start in it): for a window, its
    host's mmap, which slices far faster than the window's memoryview."""
    if isinstance(ram, RamWindow):
        return ram.host.data, ram.host_offset
    return ram.data, 0


def _load_ram(ram: Ram, records: bytes, count: int) -> None:
    """Write `_ram_records`' pages into `ram`, which must be all zero."""
    at = 0
    data, start = _backing(ram)
    for _ in range(count):
        index, length = _RECORD.unpack_from(records, at)
        at += _RECORD.size
        if not 0 < length <= PAGE or (index + 1) * PAGE > ram.size or at + length > len(records):
            raise ValueError(f"RAM record for page {index} ({length} bytes) does not fit")
        offset = start + index * PAGE
        data[offset : offset + length] = records[at : at + length]
        at += length
    if at != len(records):
        raise ValueError("RAM records end early")
    # Once, for the whole window: the real hart drops code it had translated there.
    ram.on_write(0, ram.size)


def _image_of(guest: Guest) -> tuple[dict, bytes]:
    """The boot image a reset would load again: (its header, its bytes)."""
    image = guest.board.image
    if guest.program is not None:
        program = guest.program
        data = bytes(program.data)
        return {"kind": "program", "path": guest.image, "base": program.base, "entry": program.entry,
                "symbols": dict(program.symbols), "sha256": hashlib.sha256(data).hexdigest()}, data  # fmt: skip
    if image is None:
        raise SnapshotError(f"{guest.name}: no boot image to carry")  # pragma: no cover - guests always have one
    data = b"".join(segment.data for segment in image.segments)
    segments = [[s.paddr, s.memsz, len(s.data)] for s in image.segments]
    return {"kind": "elf", "path": str(image.path), "entry": image.entry, "segments": segments,
            "symbols": dict(image.symbols), "tohost_section": image.tohost_section,
            "sha256": hashlib.sha256(data).hexdigest()}, data  # fmt: skip


# --- restoring --------------------------------------------------------------------------


def restore_guest(vmm: Vmm, source: str | os.PathLike[str] | Snapshot, *, name: str | None = None,
                  disk: str | os.PathLike[str] | None = None, paused: bool = False) -> Guest:  # fmt: skip
    """Add the guest saved in `source` (a path or a `read_snapshot` result) to `vmm`
    and return it, ready to run on from the instruction where it was saved (PAUSED
    if `paused`; a guest saved powered off comes back HALTED).  It keeps its name
    (`name` overrides; a name taken becomes name-2), RAM size, remedy, MAC and disk.
    `disk`: where its disk's saved contents go (see the module's rule); None for a
    throwaway copy.  The VMM's ERET flaw is the VMM's, whatever the snapshot's was."""
    snap = source if isinstance(source, Snapshot) else read_snapshot(source)
    h = snap.header
    try:
        g = h["guest"]
        disk_info = h["disk"]
        if disk is not None and disk_info is None:
            raise SnapshotError(f"{snap.path}: {snap.name} has no disk to put at {os.fspath(disk)}")
        disk_path, scratch = _disk_for(snap, disk_info, disk)
        try:
            try:
                guest = vmm.add_guest(program=_BLANK, name=name or g["name"], ram_size=g["ram_size"],
                                      disk=disk_path, disk_read_only=bool(disk_info and disk_info["read_only"]),
                                      remedy=g["remedy"], net=g["mac"] is not None, paused=paused)  # fmt: skip
            except VmmError as exc:
                raise SnapshotError(f"{snap.path}: {exc}") from None
        finally:
            if scratch is not None:  # the device has the file open: its name can go
                with contextlib.suppress(OSError):
                    os.unlink(disk_path)
                with contextlib.suppress(OSError):
                    os.rmdir(scratch)
        try:
            _load_into(guest, snap)
        except BaseException:
            vmm.remove_guest(guest)
            raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, VirtqueueError) as exc:
        raise SnapshotError(f"{snap.path}: the snapshot does not fit together: {type(exc).__name__}: {exc}") from None
    return guest


def same_mac(guest: Guest) -> list[Guest]:
    """The other guests of `guest`'s VMM with its MAC: a snapshot restored beside the
    guest it was taken from, or twice.  (The MAC, and the IP address unix derives from
    it, live in the guest's RAM, so the restore cannot change them; the switch then
    sends their frames to whichever port it saw the MAC on last.)"""
    if guest.board.net is None:
        return []
    mac = guest.board.net.mac
    return [g for g in guest.vmm.guests
            if g is not guest and g.board.net is not None and g.board.net.mac == mac]  # fmt: skip


def mac_warning(guest: Guest) -> str | None:
    """One line for the user when `same_mac(guest)` finds any, else None."""
    others = same_mac(guest)
    if not others:
        return None
    mac = ":".join(f"{b:02x}" for b in guest.board.net.mac)
    names = ", ".join(g.name for g in others)
    return (f"{guest.name} has the same MAC ({mac}) as {names}, so the same address: "
            "the virtual switch will mix up their frames")  # fmt: skip


def _disk_for(snap: Snapshot, info: dict | None,
              target: str | os.PathLike[str] | None) -> tuple[str | None, str | None]:  # fmt: skip
    """(the path the restored guest's disk opens, a scratch directory to remove once
    it is open, or None)."""
    if info is None:
        return None, None
    content = snap.section("disk")
    if len(content) != info["size"] or hashlib.sha256(content).hexdigest() != info["sha256"]:
        raise SnapshotError(f"{snap.path}: corrupt snapshot: its disk does not match its checksum")
    if target is None:
        try:
            scratch = tempfile.mkdtemp(prefix="tuivmm-restore-")
        except OSError as exc:
            raise SnapshotError(f"cannot make a throwaway copy of {snap.name}'s disk: {exc.strerror or exc}") from None
        path = os.path.join(scratch, os.path.basename(info["name"]) or "disk.img")  # the device's serial is its name
        try:
            Path(path).write_bytes(content)
        except OSError as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise SnapshotError(f"cannot make a throwaway copy of {snap.name}'s disk: {exc.strerror or exc}") from None
        return path, scratch
    target = os.fspath(target)
    if os.path.isdir(target):
        raise SnapshotError(f"{target}: is a directory, not a disk image")
    if os.path.exists(target):
        if file_sha256(target) != info["sha256"]:
            raise SnapshotError(f"{target}: exists and differs from the disk saved in {snap.path}; "
                                "name a new file (or remove this one)")  # fmt: skip
        return target, None  # the very disk the snapshot was taken with, untouched since
    write_aside(target, [content])
    return target, None  # a new file: kept, whatever happens next


def _load_into(guest: Guest, snap: Snapshot) -> None:
    """Overwrite a freshly added guest (blank RAM, devices at reset) with the snapshot."""
    h = snap.header
    g, counters = h["guest"], h["counters"]
    window = guest.window
    _load_ram(window, snap.section("ram"), h["ram"]["pages"])  # a window is zero when added
    _restore_image(guest, h["image"], snap.section("image"))
    if g.get("sbi", "firmware") == "vmm":  # (snapshots from before --sbi: the firmware's)
        guest.serve_sbi()  # before the devices: the CLINT's timer drives STIP again
    guest.vcpu.load_state(h["vcpu"])  # drops the shadows, rebuilds PMP
    guest.board.load_state(dict(h["devices"], output=snap.section("output")))
    if guest.bt is not None and h["bt"] is not None:
        bt = guest.bt
        bt.scanned = set(h["bt"]["scanned"])
        bt.patched = {addr: word for addr, word in h["bt"]["patched"]}
        bt.starts = {page: start for page, start in h["bt"].get("starts", [])}
        bt.scans, bt.patches = h["bt"]["scans"], h["bt"]["patches"]
    if guest.board.net is not None:
        # Later guests of this VMM must not be handed the MAC the restored one has.
        guest.vmm._macs = max(guest.vmm._macs, guest.board.net.mac[5])
    if guest.port is not None:
        guest.port.frames_in, guest.port.frames_out = counters["frames_in"], counters["frames_out"]
    guest.input[:] = g["input"]
    guest.input_interactive = bool(g["input_interactive"])
    guest._fed_at = g["fed_at"]
    guest._asked = g.get("asked", True)  # (snapshots from before: taken at a prompt, as a rule)
    guest._stalled = g["stalled"]
    guest.hidden_faults, guest.true_faults = counters["hidden_faults"], counters["true_faults"]
    guest.flushes, guest.slices = counters["flushes"], counters["slices"]
    guest.page_flushes = counters.get("page_flushes", 0)  # (snapshots from before it was counted)
    guest.direct_instructions = counters["direct_instructions"]
    guest.emulated_instructions = counters["emulated_instructions"]
    guest.log.counts.update(counters["by_reason"])
    guest.log.actions.update(counters["by_action"])
    guest.log.total = counters["exits"]
    guest.retired_earlier = counters.get("retired_earlier", 0)  # absent in snapshots made before resets kept it
    guest.reason = g["reason"] if g["state"] == "halted" else ""
    if g["state"] == "halted":
        guest.halt = tuple(g["halt"])
        guest.state = GuestState.HALTED
    guest._wall_start, guest._wall_base = time.perf_counter(), guest.vcpu.cycles
    held = g["lr_reservation"]
    if held is not None and guest.state is not GuestState.HALTED:
        # Put the guest on the real hart now, holding its reservation, as it was when
        # saved; like any world switch, running another guest first may cost it (SC
        # may fail for any reason, as the spec allows).
        offset = held - window.base
        if not 0 <= offset < window.size:
            raise ValueError(f"LR reservation at {held:#x} outside the guest's RAM")
        guest.vmm.load(guest)
        guest.vmm.hart.reservation = window.host_base + offset


def _restore_image(guest: Guest, info: dict, data: bytes) -> None:
    """Give the guest back the boot image its reset loads."""
    guest.image = info["path"]
    if info["kind"] == "program":
        guest.program = Program(data, info["base"], dict(info["symbols"]), info["entry"])
        return
    segments = []
    at = 0
    for paddr, memsz, length in info["segments"]:
        segments.append(Segment(paddr, data[at : at + length], memsz))
        at += length
    guest.program = None
    # Snapshots from before the HTIF rule (machine/htif.py) gave any `tohost` HTIF.
    section = info.get("tohost_section", ".tohost" if "tohost" in info["symbols"] else None)
    guest.board.image = Image(Path(info["path"]), info["entry"], segments, dict(info["symbols"]), section)
