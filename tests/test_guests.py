"""The packaged guests: reproducible images, the memory-layout header, the catalogue,
and each guest booting the same on our bare machine as on QEMU."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_cli import tuivmm
from toolchain import run_qemu

from machine import board as B
from machine.board import Board
from machine.clock import TIMEBASE_HZ
from machine.cpu import csrs as C
from tuivmm.disk.tufs import mkfs
from tuivmm.lineup.packaged import (
    DESCRIPTIONS,
    IMAGES,
    WANTS_DISK,
    packaged,
    wants_disk,
)

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "guests" / "include" / "memlayout.h"


def header_defines() -> dict[str, int]:
    """Every `#define NAME expression` of memlayout.h, evaluated."""
    values: dict[str, int] = {}
    for name, expr in re.findall(r"^#define\s+(\w+)\s+(.+?)\s*(?://.*)?$", HEADER.read_text(), re.M):
        expr = re.sub(r"\b(0x[0-9A-Fa-f]+|\d+)UL\b", r"\1", expr)
        values[name] = eval(expr, {}, dict(values))  # noqa: S307 - our own header, names only
    return values


def test_memlayout_header_agrees_with_the_board_on_every_number():
    defines = header_defines()
    board = Board(1 << 20)
    checked = set()

    def same(name, value):
        assert defines[name] == value, f"memlayout.h {name}={defines[name]:#x}, board says {value:#x}"
        checked.add(name)

    for name in ("FINISHER_BASE", "CLINT_BASE", "PLIC_BASE", "UART0_BASE", "UART0_IRQ", "VIRTIO_BASE",
                 "VIRTIO_STRIDE", "VIRTIO_IRQ_BASE", "VIRTIO_BLK_SLOT", "VIRTIO_NET_SLOT", "RAM_BASE"):  # fmt: skip
        same(name, getattr(B, name))
    same("TIMEBASE_HZ", TIMEBASE_HZ)
    # Register addresses and finisher codes: check them by using them on a board.
    board.bus.write(defines["CLINT_MSIP"], 4, 1)
    assert board.hart.mip >> C.MSIP & 1
    checked.add("CLINT_MSIP")
    board.bus.write(defines["CLINT_MTIMECMP"], 4, 0x1234)
    assert board.bus.read(B.CLINT_BASE + 0x4000, 4) == 0x1234
    checked.add("CLINT_MTIMECMP")
    board.hart.icount = 777
    assert board.bus.read(defines["CLINT_MTIME"], 4) == board.hart.clock.mtime() == 777
    checked.add("CLINT_MTIME")
    for name, kind in (("FINISHER_PASS", "pass"), ("FINISHER_RESET", "reset")):
        board.hart.halted = None
        board.bus.write(defines["FINISHER_BASE"], 4, defines[name])
        assert board.hart.halted == (kind, 0)
        checked.add(name)
    board.bus.write(defines["FINISHER_BASE"], 4, (3 << 16) | defines["FINISHER_FAIL"])
    assert board.hart.halted == ("fail", 3)
    checked.add("FINISHER_FAIL")
    assert checked == set(defines), f"not checked: {sorted(set(defines) - checked)}"


def test_committed_images_are_reproducible_from_source():
    result = subprocess.run(["make", "-C", str(ROOT / "guests"), "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reproducible" in result.stdout


def test_catalogue_and_images_match():
    shipped = {path.stem for path in IMAGES.glob("*.elf")}
    assert shipped == set(DESCRIPTIONS)
    assert [guest.name for guest in packaged()] == list(DESCRIPTIONS)


def test_tuivmm_guests_lists_each_guest_with_its_description():
    result = tuivmm("guests")
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert [line.split()[0] for line in lines] == list(DESCRIPTIONS)
    for line, text in zip(lines, DESCRIPTIONS.values(), strict=True):
        assert line.split(None, 1)[1] == text


# Interactive guests get a short scripted session that ends by powering off.
SCRIPTS = {"basic": b'10 PRINT "HI";2*21\nRUN\nBYE\n',
           "unix": b"echo hi\nwrite f hi\ncat f\nbench\nshutdown\n"}  # fmt: skip


# linux's console carries its kernel log, whose timestamps and CPU line differ from
# QEMU's: tests/test_linux_guest.py compares what its commands print instead.
@pytest.mark.parametrize("name", [name for name in DESCRIPTIONS if name != "linux"])
def test_guest_prints_the_same_on_the_bare_machine_as_on_qemu(name, tmp_path):
    stdin = SCRIPTS.get(name, b"")
    disk_args, qemu_disk = [], None
    if name in WANTS_DISK:  # both boards get the same fresh disk
        ours_disk, qemu_disk = tmp_path / "ours.img", tmp_path / "qemu.img"
        mkfs(ours_disk)
        shutil.copyfile(ours_disk, qemu_disk)
        disk_args = ["--disk", str(ours_disk)]
    ours = tuivmm("bare", *disk_args, name, stdin=stdin)  # by name: the packaged image
    code, qemu_out = run_qemu(IMAGES / f"{name}.elf", stdin=stdin, disk=qemu_disk)
    assert ours.returncode == code == 0
    assert ours.stdout == qemu_out
    assert ours.stderr == b""
    if qemu_disk is not None:
        assert ours_disk.read_bytes() == qemu_disk.read_bytes()


def test_unix_and_linux_want_a_disk_by_name_or_by_its_image_path(tmp_path, monkeypatch):
    from tuivmm.lineup.packaged import disk_format

    assert WANTS_DISK == {"unix", "linux"}
    assert (disk_format("unix"), disk_format("linux"), disk_format("hello"), disk_format("x.S")) == (
        "tufs", "ext2", "tufs", "tufs")  # fmt: skip
    assert wants_disk("linux") and wants_disk(IMAGES / "linux.elf")
    assert wants_disk("unix")
    assert wants_disk(str(IMAGES / "unix.elf"))
    assert wants_disk(IMAGES / "unix.elf")
    assert not wants_disk("hello") and not wants_disk(str(IMAGES / "hello.elf"))
    assert not wants_disk("no/such/unix") and not wants_disk("unix.S")
    monkeypatch.chdir(IMAGES.parent)
    assert wants_disk("images/unix.elf") and wants_disk("images/../images/unix.elf")
    # The same file reached another way (a copy, a symlink) is the same image only if it resolves there.
    (tmp_path / "link.elf").symlink_to(IMAGES / "unix.elf")
    assert wants_disk(str(tmp_path / "link.elf"))
    shutil.copyfile(IMAGES / "unix.elf", tmp_path / "copy.elf")
    assert not wants_disk(str(tmp_path / "copy.elf"))
    # A file named like the guest in the current directory wins over the packaged guest.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "unix").write_bytes(b"")
    assert not wants_disk("unix")


def test_eret_escape_is_protected_on_correct_hardware_and_on_the_bare_flawed_machine():
    # On the bare machine the kernel really runs in S-mode, so the flaw opens no hole:
    # the escape needs a monitor that runs the kernel deprivileged (the VMM issue).
    for flags in ((), ("--flawed-eret",)):
        result = tuivmm("bare", *flags, "eret-escape")
        assert result.returncode == 0
        assert result.stdout.decode().splitlines()[-1] == "ERET-ESCAPE: PROTECTED"


def test_the_built_package_ships_every_guest_image(tmp_path):
    # What `pip install .` installs: build the wheel and look inside.
    import sys
    import zipfile

    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                             "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("tuivmm-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in DESCRIPTIONS:
        assert f"tuivmm/images/{name}.elf" in names
