"""The outside tools tests lean on: the RISC-V cross toolchain and QEMU.

`.ci/install-tools` installs them; a test that needs one and finds it missing
fails with a message saying so, rather than skipping in silence.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS_DIR = Path(__file__).parent / "programs"
CROSS_PREFIX = "riscv64-unknown-elf-"
QEMU = "qemu-system-riscv32"
INSTALL_HINT = "run `bash .ci/install-tools` to install it"


class ToolMissing(RuntimeError):
    """A tool a test needs is not installed."""


def find_tool(name: str) -> str:
    """Path of an installed program, or ToolMissing naming it."""
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} is not installed; {INSTALL_HINT}")
    return found


def cross_tool(name: str) -> str:
    """Path of a cross tool: cross_tool("gcc") -> .../riscv64-unknown-elf-gcc."""
    return find_tool(CROSS_PREFIX + name)


def run_tool(*args: str | Path, cwd: Path | None = None) -> str:
    """Run a tool (args[0] a path from find_tool/cross_tool); its stdout, or an error with its stderr."""
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        command = " ".join(str(a) for a in args)
        raise RuntimeError(f"`{command}` failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


@functools.cache
def build_dir() -> Path:
    """A directory of this test run's own, so parallel runs do not race on objects."""
    path = Path(tempfile.mkdtemp(prefix="tuivmm-programs-"))
    atexit.register(shutil.rmtree, path, True)
    return path


RVC_ARCH = "-march=rv32imac_zicsr -mabi=ilp32"  # the programs built with the C extension


def build_program(name: str, arch: str | None = None) -> Path:
    """Build tests/programs/NAME.elf (with its Makefile) into build_dir(); its path.
    `arch` replaces the Makefile's -march/-mabi (RVC_ARCH for compressed code), the
    result going to a directory of its own."""
    cross_tool("gcc")
    out = build_dir() if arch is None else build_dir() / arch.split()[0].split("=")[1]
    args = [f"ARCH={arch}"] if arch is not None else []
    run_tool(find_tool("make"), "-s", "-C", PROGRAMS_DIR, f"OUT={out}", *args, f"{out}/{name}.elf")
    return out / f"{name}.elf"


def run_qemu(elf: Path, stdin: bytes = b"", timeout: float = 30,
             disk: Path | None = None, disk_read_only: bool = False) -> tuple[int, bytes]:
    """Boot `elf` on QEMU's virt board with no firmware, as our bare machine does.

    The UART is wired to stdin/stdout with no monitor multiplexed in, so every
    byte of `stdin` reaches the guest.  `disk` is a raw image for a virtio-blk
    device in virtio-mmio slot 0 (0x1000_1000, IRQ 1), version 2 ("modern") as
    ours is; read-only (QEMU then offers VIRTIO_BLK_F_RO) if `disk_read_only`, as
    `--disk-ro` makes ours.  Returns QEMU's exit status (the sifive_test finisher's
    code) and everything the guest wrote to the UART.
    """
    command = [find_tool(QEMU), "-machine", "virt", "-bios", "none", "-m", "128M",
               "-smp", "1", "-display", "none", "-monitor", "none", "-serial", "stdio",
               "-kernel", str(elf)]
    if disk is not None:
        command += ["-global", "virtio-mmio.force-legacy=false",
                    "-drive", f"file={disk},if=none,format=raw,id=d0{',readonly=on' if disk_read_only else ''}",
                    "-device", "virtio-blk-device,drive=d0,bus=virtio-mmio-bus.0"]
    return _run(command, f"{elf.name} did not power QEMU off within {timeout} s", stdin, timeout)


def run_ours(elf: Path, stdin: bytes = b"", disk: Path | None = None, extra: tuple[str, ...] = (),
             timeout: float = 60) -> tuple[int, bytes]:
    """Run `elf` with `python3 -m tuivmm bare`, as run_qemu runs it on QEMU.

    `extra` are more options for `bare`.  Returns the exit status and the console.
    """
    command = [sys.executable, "-m", "tuivmm", "bare", *extra]
    if disk is not None:
        command += ["--disk", str(disk)]
    command.append(str(elf))
    return _run(command, f"{elf.name} did not finish on tuivmm within {timeout} s", stdin, timeout,
                env=dict(os.environ, PYTHONPATH=str(ROOT)))


def run_under_vmm(elf: Path, timeout: float = 120, extra: tuple[str, ...] = ()) -> tuple[int, bytes]:
    """`tuivmm run [EXTRA...] ELF`: its exit status and the guest's console, the `[name] `
    line prefixes taken off."""
    result = subprocess.run([sys.executable, "-m", "tuivmm", "run", "--no-net", *extra, str(elf)], capture_output=True,
                            check=False, timeout=timeout, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip
    prefix = f"[{elf.stem}] ".encode()
    lines = result.stdout.splitlines(keepends=True)
    assert all(line.startswith(prefix) for line in lines), result.stdout[:500]
    return result.returncode, b"".join(line[len(prefix) :] for line in lines)


def _run(command: list[str], late: str, stdin: bytes, timeout: float,
         env: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        result = subprocess.run(command, input=stdin, capture_output=True, timeout=timeout,
                                env=env, cwd=ROOT)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{late}; console so far: {exc.stdout!r}") from None
    if result.stderr:
        # Shown by pytest when the test fails; the machine's own complaints land here.
        sys.stderr.write(result.stderr.decode(errors="replace"))
    return result.returncode, result.stdout
