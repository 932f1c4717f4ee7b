"""The linux guest's devices (issue 14): its ext2 disk, made on the host by mke2fs, keeps
a file across a reboot and the host reads it back; its network card talks to unix's
over the VMM's switch — pings both ways and UDP through both guests' own tools — with
two Linux guests running at once beside unix and basic; Ctrl-C stops a program; and
`--pcap` captures Linux's ping of unix for tshark.

Each test boots Linux (about 30 M guest instructions a boot); the VMM test boots two."""

from __future__ import annotations

import os
from collections import Counter
import subprocess
import sys
from pathlib import Path

import pytest
from test_linux_guest import BOOT_TIMEOUT, COMMAND_TIMEOUT
from test_pcap import tshark
from toolchain import ROOT

from tuivmm.disk import ext2
from tuivmm.lineup.packaged import IMAGES
from tuivmm.vmm import GuestState, Vmm
from tuivmm.vmm.spaces import address_spaces, current_space, inspect_space


def tuivmm(*args: str, stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuivmm", *args], input=stdin, capture_output=True,
                          timeout=2 * BOOT_TIMEOUT, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip


def debugfs(image: Path, request: str) -> str:
    result = subprocess.run([ext2.find_mke2fs().replace("mke2fs", "debugfs"), "-R", request, str(image)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_file_written_on_the_ext2_disk_survives_a_reboot_and_the_host_reads_it(tmp_path):
    """`tuivmm bare --disk FILE linux` with no FILE yet: a fresh ext2 disk is made there
    (mke2fs) and kept; init mounts it on /mnt; after `reboot` the file is still there."""
    image = tmp_path / "linux.img"
    script = b"echo kept across a reboot > /mnt/note\nsync\nreboot\ncat /mnt/note\nls /mnt\npoweroff\n"
    result = tuivmm("bare", "--disk", str(image), "linux", stdin=script)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr.decode() == f"tuivmm: made a fresh empty 8 MiB ext2 disk at {image}\n"
    console = result.stdout.decode(errors="replace").replace("\r\n", "\n")
    assert console.count("init: /dev/vda mounted on /mnt\n") == 2, console[-3000:]
    assert "reboot: Restarting system" in console
    after = console.split("reboot: Restarting system", 1)[1]
    assert "$ cat /mnt/note\nkept across a reboot\n$ ls /mnt\n" in after
    assert sorted(after.split("$ ls /mnt\n", 1)[1].split("$ ")[0].split()) == ["lost+found", "note"]
    # The host's ext2 tools read what Linux wrote.
    assert debugfs(image, "cat /note") == "kept across a reboot\n"


def test_a_fresh_ext2_disk_is_the_same_bytes_every_time_and_checks_clean(tmp_path):
    one, two = ext2.mkfs(tmp_path / "one.img"), ext2.mkfs(tmp_path / "two.img")
    assert one.read_bytes() == two.read_bytes()
    assert one.stat().st_size == ext2.DEFAULT_SIZE_MIB << 20
    assert one.read_bytes()[1080:1082] == b"\x53\xef"  # the ext2 superblock's magic
    check = subprocess.run([ext2.find_mke2fs().replace("mke2fs", "e2fsck"), "-fn", str(one)],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Filesystem volume name:   linux" in subprocess.run(
        [ext2.find_mke2fs().replace("mke2fs", "dumpe2fs"), "-h", str(one)], capture_output=True, text=True
    ).stdout
    with pytest.raises(ext2.Ext2Error, match="already exists"):
        ext2.mkfs(one)
    assert one.read_bytes() == two.read_bytes()


def test_without_mke2fs_linux_runs_without_a_disk_or_says_why_it_cannot_make_one(tmp_path, monkeypatch):
    from tuivmm.disk.attach import DiskSetupError, disk_for

    monkeypatch.setattr(ext2, "find_mke2fs", lambda: None)
    disk = disk_for("linux")
    assert disk.path is None and "without mke2fs (e2fsprogs)" in disk.notice
    with pytest.raises(DiskSetupError, match=r"mke2fs not found \(install e2fsprogs\)"):
        disk_for("linux", tmp_path / "new.img")
    assert not (tmp_path / "new.img").exists() and not list(tmp_path.iterdir())
    assert disk_for("unix").path is not None  # unix's own file system needs no host tool


# --- the network, under the VMM ---------------------------------------------------------------

PROMPTS = {"linux": "\n$ ", "unix": "\n$ ", "basic": "READY"}


class Scripts:
    """Type lines into several guests of one VMM: each guest has a list of (line,
    ready) pairs; the next line goes in at the guest's next prompt once ready(outputs)
    is true, outputs being {guest name: console text so far}.  A line in a triple
    (line, ready, False) goes in without waiting for a prompt (a Ctrl-C)."""

    def __init__(self, vmm: Vmm, scripts: dict[str, list]):
        self.vmm = vmm
        self.scripts = scripts
        self.guests = {g.name: g for g in vmm.guests}
        self.typed = dict.fromkeys(scripts, 0)
        self._key: tuple = ()
        self._outputs: dict[str, str] = {}

    def outputs(self) -> dict[str, str]:
        key = tuple(len(g.output) for g in self.guests.values())
        if key != self._key:
            self._key = key
            self._outputs = {name: g.output.decode(errors="replace").replace("\r\n", "\n")
                             for name, g in self.guests.items()}  # fmt: skip
        return self._outputs

    def run(self, rounds: int) -> None:
        for _ in range(rounds):
            outputs = self.outputs()
            for name, script in self.scripts.items():
                guest = self.guests[name]
                if not script or guest.input or not script[0][1](outputs):
                    continue
                at_prompt = len(script[0]) < 3 or script[0][2]
                prompts = outputs[name].count(PROMPTS[name.split("-")[0]])
                if at_prompt and prompts <= self.typed[name]:
                    continue
                guest.send_input(script.pop(0)[0], interactive=False)
                self.typed[name] += at_prompt
            if not self.vmm.run_round():
                return


def always(_outputs) -> bool:
    return True


def command_output(console: str, command: str) -> str:
    """What a shell printed between `$ COMMAND` and its next prompt."""
    start = console.index("$ " + command + "\n") + len("$ " + command + "\n")
    return console[start : console.index("$ ", start)]


def test_two_linux_guests_beside_unix_and_basic_ping_and_talk_udp_through_both_guests_tools(tmp_path):
    vmm = Vmm()
    disk = ext2.mkfs(tmp_path / "linux.img")
    for name in ("linux", "unix", "linux", "basic"):
        vmm.add_guest(IMAGES / f"{name}.elf", disk=str(disk) if not vmm.guests else None)
    names = [g.name for g in vmm.guests]
    assert names == ["linux", "unix", "linux-2", "basic"]
    sbi_calls = {name: Counter() for name in names}
    for g in vmm.guests:
        g.log.on_event = lambda e, seen=sbi_calls[g.name]: seen.update([e.detail]) if e.detail.startswith("sbi ") else None
    seen = {}

    def look_at_linux() -> bool:
        """The memory pane's view of linux (Alt+A), at its prompt: its processes'
        address spaces, and the one it runs in now beside the VMM's shadows of it."""
        g = vmm.guests[0]
        seen["spaces"] = [use.satp for use in address_spaces(g) if use.satp is not None]
        seen["view"] = inspect_space(g, current_space(g))
        return True

    scripts = Scripts(vmm, {
        # linux (10.0.0.1): pings unix; serves UDP echo until Ctrl-C; writes its disk.
        "linux": [
            (b"ping 10.0.0.2 2\n", lambda o: "$ " in o["unix"]),
            (b"udp echo 7\n", always),
            (b"\x03", lambda o: "reply from 10.0.0.1:7" in o["unix"], False),  # Ctrl-C
            (b"echo written under the vmm > /mnt/from-linux\n", always),
            (b"sync\n", always),
            (b"poweroff\n", lambda o: "reply from 10.0.0.2:7" in o["linux-2"] and look_at_linux()),
        ],
        # unix (10.0.0.2): pings linux once linux has said its address; asks linux's
        # echo server; then serves one of its own in the background.
        "unix": [
            (b"ping 10.0.0.1 2\n", lambda o: "init: eth0 is 10.0.0.1" in o["linux"]),
            (b"udp ask 10.0.0.1 7 hello linux\n", lambda o: "echoing on port 7" in o["linux"]),
            (b"udp echo 7 &\n", always),
            (b"shutdown\n", lambda o: "reboot: Power down" in o["linux-2"]),
        ],
        # linux-2 (10.0.0.3): pings linux, asks unix's echo server.
        "linux-2": [
            (b"ping 10.0.0.1 2\n", lambda o: "init: eth0 is 10.0.0.1" in o["linux"]),
            (b"udp ask 10.0.0.2 7 hello unix\n", lambda o: "echoing on port 7" in o["unix"]),
            (b"poweroff\n", always),
        ],
        "basic": [(b"PRINT 6*7\n", always), (b"BYE\n", lambda o: "reboot: Power down" in o["linux"])],
    })  # fmt: skip
    scripts.run(3_000_000)
    out = scripts.outputs()
    for g in vmm.guests:
        assert (g.state, g.halt) == (GuestState.HALTED, ("pass", 0)), (g.name, g.reason, out[g.name][-1500:])
    linux, unix, linux2 = out["linux"], out["unix"], out["linux-2"]
    assert "init: eth0 is 10.0.0.1" in linux and "init: eth0 is 10.0.0.3" in linux2
    assert "unix: net 10.0.0.2 mac 52:54:00:00:00:02" in unix
    # Pings both ways: Linux's kernel answers unix's, unix's kernel answers Linux's.
    assert command_output(unix, "ping 10.0.0.1 2") == (
        "64 bytes from 10.0.0.1: icmp_seq=1\n64 bytes from 10.0.0.1: icmp_seq=2\n2 packets transmitted, 2 received\n"
    )
    for console, target in ((linux, "10.0.0.2"), (linux2, "10.0.0.1")):
        assert command_output(console, f"ping {target} 2") == (
            f"64 bytes from {target}: icmp_seq=1\n64 bytes from {target}: icmp_seq=2\n2 packets transmitted, 2 received\n"
        )
    # UDP through both guests' tools: Linux's echo server answers unix's `udp ask`,
    # unix's answers Linux's.
    assert command_output(unix, "udp ask 10.0.0.1 7 hello linux") == "reply from 10.0.0.1:7 (11 bytes): hello linux\n"
    assert "udp: echoing on port 7\necho" in linux and "(11 bytes): hello linux\n" in linux
    assert command_output(linux2, "udp ask 10.0.0.2 7 hello unix") == "reply from 10.0.0.2:7 (10 bytes): hello unix\n"
    # Ctrl-C stopped Linux's echo server (SIGINT from the terminal), back to the prompt.
    assert "^C" in linux.split("udp: echoing on port 7", 1)[1].split("$ echo written", 1)[0]
    assert "PRINT 6*7\n42\n" in out["basic"]
    # What Linux wrote on its disk, the host reads.
    assert debugfs(disk, "cat /from-linux") == "written under the vmm\n"
    assert vmm.switch.frames >= 16
    # Its processes' page tables, each its own satp and ASID, beside their shadows.
    asids = {satp >> 22 & 0x1FF for satp in seen["spaces"]}
    assert len(seen["spaces"]) >= 6 and len(asids) >= 6, [hex(satp) for satp in seen["spaces"]]
    view = seen["view"]
    user = [run for run in view.runs if run.leaf and run.bits & 0x10]  # U pages: the shell's
    kernel = [run for run in view.runs if run.leaf and not run.bits & 0x10 and run.va >= 0xC000_0000]
    assert user and kernel and all(run.end <= 0xC000_0000 for run in user)  # below PAGE_OFFSET
    assert view.shadows and view.shadow_runs and all(run.guest == "same" for run in view.shadow_runs)
    assert all(key[0] in ("s", "u") and key[1] == view.satp for key in (s.key for s in view.shadows))
    # Each Linux guest's trap log named its SBI calls as they came.
    for name in ("linux", "linux-2"):
        assert sbi_calls[name]["sbi set_timer"] > 100 and sbi_calls[name]["sbi console_putchar"] > 1000


def test_pcap_captures_linux_pinging_unix(tmp_path):
    """`tuivmm run linux unix --pcap FILE` with Linux's session piped in: tshark reads
    Linux's three echo requests to unix and unix's three replies."""
    capture = tmp_path / "linux.pcap"
    result = tuivmm("run", "--no-disk", "--pcap", str(capture), "linux", "unix", stdin=b"ping 10.0.0.2 3\npoweroff\n")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert b"[linux] 3 packets transmitted, 3 received" in result.stdout.replace(b"\r\n", b"\n")
    frames = tshark(capture, "ip.src", "ip.dst", "icmp.type", "icmp.seq", where="icmp")
    assert [frame[:3] for frame in frames] == [["10.0.0.1", "10.0.0.2", "8"], ["10.0.0.2", "10.0.0.1", "0"]] * 3
    assert [int(frame[3]) for frame in frames] == [1, 1, 2, 2, 3, 3]


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["bare", "--ram", "8", "linux"], ["run", "--ram", "linux=8", "linux", "hello"],
                                  ["run", "--ram", "12", "linux"]])  # fmt: skip
def test_too_little_ram_for_linux_is_a_one_line_error_before_anything_runs(args, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "tuivmm", *args], capture_output=True, text=True, timeout=60,
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL)  # fmt: skip
    ram = args[2].split("=")[-1]
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"tuivmm: linux needs at least 16 MiB of RAM (with {ram} MiB its kernel runs out of "
                             "memory as it boots)\n")  # fmt: skip
    assert not list(tmp_path.iterdir())  # no throwaway disk was made


def test_a_kernel_image_that_is_not_an_elf_is_a_one_line_error(tmp_path):
    image = tmp_path / "vmlinux"
    image.write_bytes(b"MZ\x00\x00" + bytes(60) + b"RISCV\x00\x00\x00")  # the start of a raw Image, not an ELF
    for command in ("bare", "run"):
        result = subprocess.run([sys.executable, "-m", "tuivmm", command, str(image)], capture_output=True, text=True,
                                timeout=60, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.splitlines() == [f"tuivmm: {image}: not an ELF file (it does not start with \\x7fELF)"]
