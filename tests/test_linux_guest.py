"""The linux guest (issue 14): Debian's Linux 6.1, unmodified, behind our SBI firmware,
with our userland in its initramfs — one ELF, tuivmm/images/linux.elf — boots to its
shell prompt on QEMU's virt board, on `tuivmm bare` and as a guest of the VMM, and the
same commands give the same answers on all three.

QEMU is driven as a person would: wait for the `$ ` prompt, type a line, wait for the
next prompt (its serial port drops what is typed before the kernel's driver is up).
Ours get the whole session piped in at once, as the README shows: tuivmm hands each
line to the guest when it can hear it.  (The kernel's own log differs — timestamps,
QEMU's CPU — and is not compared: only what the commands print.)
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from toolchain import QEMU, ROOT, find_tool

IMAGE = ROOT / "tuivmm" / "images" / "linux.elf"
PROMPT = b"\n$ "
BOOT_TIMEOUT = 300  # seconds: the VMM boots it in about 45 on this project's CI machine
COMMAND_TIMEOUT = 60

# What a student types first; each command's answer must be the same everywhere.
SESSION = [
    "uname -a",
    "echo hello, world > /tmp/note",
    "cat /tmp/note",
    "ls /",
    "sh -c 'echo inner ok'",
    "kill -0 1",
    "cat /nonexistent",
]


class Console:
    """A running machine's serial console: read until a pattern, write a line."""

    def __init__(self, command: list[str]):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, cwd=ROOT, env=env)  # fmt: skip
        self.seen = b""

    def until(self, pattern: bytes, timeout: float) -> bytes:
        """Everything up to and including the first `pattern` after what was read before."""
        start = len(self.seen)
        end = time.monotonic() + timeout
        while (at := self.seen.find(pattern, start)) < 0:
            left = end - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no {pattern!r} within {timeout} s; the console ends:\n"
                                     + self.seen[-1500:].decode(errors="replace"))  # fmt: skip
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError("the machine stopped; its console ends:\n" + self.seen[-1500:].decode(errors="replace"))
            self.seen += chunk
        return self.seen[start : at + len(pattern)]

    def type(self, line: str) -> None:
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def close(self) -> int:
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def answers(command: list[str], prefix: bytes = b"") -> tuple[list[str], bytes]:
    """Boot, run SESSION at the prompt, power off: each command's answer (its output
    less the echoed command line, \\r\\n as \\n), and the whole console."""
    console = Console(command)
    try:
        console.until(PROMPT, BOOT_TIMEOUT)
        out = []
        for line in SESSION:
            console.type(line)
            text = console.until(PROMPT, COMMAND_TIMEOUT)
            text = text.replace(b"\r\n", b"\n").replace(prefix, b"")
            lines = text.decode(errors="replace").split("\n")
            assert lines[0] == line, lines  # the terminal echoes what was typed
            out.append("\n".join(lines[1:-1]))
        console.type("poweroff")
        console.until(b"reboot: Power down", COMMAND_TIMEOUT)
    finally:
        status = console.close()
    return out, console.seen + f"\n(exit status {status})".encode()


@pytest.fixture(scope="module")
def qemu_answers():
    find_tool(QEMU)
    return answers([QEMU, "-machine", "virt", "-bios", "none", "-nographic", "-kernel", str(IMAGE)])


def test_linux_boots_on_qemu_through_our_firmware(qemu_answers):
    out, console = qemu_answers
    assert printed(console.decode(errors="replace")) == [line for answer in out for line in answer.split("\n") if line]
    assert b"tuivmm sbi: SBI 2.0, 128 MiB RAM at 80000000, payload at 80400000" in console
    assert re.search(rb"Linux version 6\.1\.\d+ \(tuivmm@tuivmm\)", console), console[:2000]
    assert b"Run /init as init process" in console
    assert out[0] == f"Linux linux {out[0].split()[2]} #1 2026-12-01 00:00:00 UTC riscv32"
    assert out[1:3] == ["", "hello, world"]
    assert sorted(out[3].split()) == ["bin", "dev", "init", "mnt", "proc", "root", "sys", "tmp"]
    assert out[4] == "inner ok" and out[5] == ""
    assert "no such file or directory" in out[6]


def printed(text: str) -> list[str]:
    """What the session's commands printed, line by line, read out of a whole console
    transcript: after init's last line, less the prompts, the terminal's echo of each
    command (which comes whenever the line arrived: tuivmm may hand one over while init
    is still at work) and kernel messages."""
    text = text.replace("\r\n", "\n").split("reboot: Power down")[0]
    out = []
    for line in re.split(r"init: (?:no disk|/dev/vda mounted on /mnt)\n", text, maxsplit=1)[1].split("\n"):
        while line.startswith("$ "):
            line = line[2:]
        if line and line not in (*SESSION, "poweroff") and not re.match(r"\[ *\d+\.\d+\] ", line):
            out.append(line)
    return out


def scripted(command: list[str]) -> subprocess.CompletedProcess:
    """`command` with the whole session piped to its stdin at once, as in the README:
    tuivmm hands each line to the guest when the guest can hear it."""
    script = "".join(line + "\n" for line in [*SESSION, "poweroff"]).encode()
    return subprocess.run(command, input=script, capture_output=True, timeout=BOOT_TIMEOUT + COMMAND_TIMEOUT,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip


def test_linux_on_tuivmm_bare_answers_as_on_qemu(qemu_answers):
    result = scripted([sys.executable, "-m", "tuivmm", "bare", "linux"])
    assert result.returncode == 0, result.stderr.decode()
    # Without --disk it gets a throwaway ext2 disk (mke2fs), which init mounts.
    assert result.stderr.decode().startswith("tuivmm: linux has no --disk, so it gets a fresh empty 8 MiB ext2 disk")
    text = result.stdout.decode(errors="replace")
    assert "init: /dev/vda mounted on /mnt\n" in text.replace("\r\n", "\n")
    assert printed(text) == printed(qemu_answers[1].decode(errors="replace"))
    assert "reboot: Power down" in text


def vmm_session(trace: Path) -> subprocess.CompletedProcess:
    """`tuivmm run linux` with the session piped in, every exit written to `trace`."""
    return scripted([sys.executable, "-m", "tuivmm", "run", "--no-net", "--no-disk", "--trace-exits", str(trace),
                     "linux"])  # fmt: skip


@pytest.fixture(scope="module")
def under_the_vmm(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    trace = tmp_path_factory.mktemp("linux") / "exits.txt"
    return vmm_session(trace), trace


def test_linux_under_the_vmm_answers_as_on_qemu(qemu_answers, under_the_vmm):
    """The README's way: `tuivmm run linux` with the session piped in; each line waits
    until the guest can hear it (the shell asleep on its terminal)."""
    result, _ = under_the_vmm
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode(errors="replace").splitlines()
    assert all(line.startswith("[linux] ") for line in lines), lines[:5]
    text = "\n".join(line.removeprefix("[linux] ") for line in lines)
    assert printed(text) == printed(qemu_answers[1].decode(errors="replace"))
    assert "reboot: Power down" in text


def test_a_scripted_boot_under_the_vmm_is_the_same_run_twice_exit_for_exit(under_the_vmm, tmp_path):
    """Virtual time: the same image and the same input give the same console and the
    same trap log, line for line (each exit's guest time, pc, instruction and what the
    VMM did), SBI calls named."""
    first, trace = under_the_vmm
    again = vmm_session(tmp_path / "again.txt")
    assert again.stdout == first.stdout
    one, two = trace.read_text(), (tmp_path / "again.txt").read_text()
    assert one.count("\n") > 150_000 and "(sbi set_timer)" in one and "(sbi console_putchar)" in one
    assert one == two


def test_linux_with_the_vmm_as_its_sbi_answers_as_with_its_firmware(qemu_answers):
    """`tuivmm run --sbi vmm linux`: no firmware runs, the VMM boots the kernel in
    virtual S-mode and answers its SBI calls (tuivmm/vmm/sbi_server.py); the same
    commands print the same."""
    result = scripted([sys.executable, "-m", "tuivmm", "run", "--no-net", "--no-disk", "--sbi", "vmm", "linux"])
    assert result.returncode == 0, result.stderr.decode()
    text = "\n".join(line.removeprefix("[linux] ") for line in result.stdout.decode(errors="replace").splitlines())
    assert printed(text) == printed(qemu_answers[1].decode(errors="replace"))
    assert "reboot: Power down" in text
    assert "tuivmm sbi:" not in text  # the firmware's banner: it never ran
    assert "SBI specification v2.0 detected" in text
    assert "SBI implementation ID=0x74766d6d Version=0x1" in text  # the VMM's, not the firmware's 0x74756976
