"""The Linux guest's userland (guests/linux/user/): built with Debian's
riscv64-linux-gnu-gcc and run without our kernel, under QEMU's user-mode
emulator (qemu-riscv32), which turns the RV32 program's Linux system calls into
the host's.

What this checks: that `box` is a static ELF32 RISC-V program, that the
initramfs list names it and its links, and that the commands that need no
kernel of their own behave: echo, cat, ls, uname, sleep, and the shell (words,
quotes, redirection, cd, exit status, and ctrl-C on a real terminal reaching
the command and not the shell).  init, mount, ps, dmesg, ping, udp, poweroff
need the guest's kernel and devices: not here.

The shell runs commands by execve, and the host kernel cannot run an RV32
program itself (no binfmt_misc here), so PATH points at a directory of little
host scripts, one a command, each `exec qemu-riscv32 box NAME "$@"`.

Building needs the kernel's UAPI headers, unpacked from Debian's
linux-source-6.1 into guests/build/linux/ the first time (a minute or two).
"""

from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import time
from pathlib import Path

import pytest
from toolchain import INSTALL_HINT, ROOT, ToolMissing, find_tool, run_tool

GUESTS = ROOT / "guests"
LINUX_BUILD = GUESTS / "build" / "linux"
BOX = LINUX_BUILD / "user" / "box"
LIST = LINUX_BUILD / "initramfs.list"
TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")


@pytest.fixture(scope="module")
def box() -> Path:
    """Build box and the initramfs list (`make -C guests build/linux/initramfs.list`)."""
    find_tool("riscv64-linux-gnu-gcc")
    find_tool("qemu-riscv32")
    if not TARBALL.exists():
        raise ToolMissing(f"{TARBALL} (Debian's linux-source-6.1) is not installed; {INSTALL_HINT}")
    run_tool(find_tool("make"), "-s", "-C", GUESTS, "build/linux/initramfs.list")
    return BOX


@pytest.fixture(scope="module")
def path_dir(box: Path, tmp_path_factory) -> Path:
    """A directory of host scripts named after box's commands, for the shell's PATH."""
    bin_dir = tmp_path_factory.mktemp("bin")
    qemu = find_tool("qemu-riscv32")
    for name in applets(box):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec {qemu} -0 {name} {box} "$@"\n')
        script.chmod(0o755)
    return bin_dir


def run_box(
    box: Path, name: str, *args: str, stdin: bytes = b"", env: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run `box` as command `name` (argv[0]) under qemu-riscv32."""
    return subprocess.run([find_tool("qemu-riscv32"), "-0", name, str(box), *args], check=False, input=stdin,
                          capture_output=True, timeout=30, env=env, cwd=cwd)  # fmt: skip


def applets(box: Path) -> list[str]:
    """The commands box lists when run as itself."""
    out = run_box(box, "box").stdout.decode()
    return [line.split()[0] for line in out.splitlines()[1:]]


def test_box_is_a_static_rv32_program(box: Path):
    header = run_tool(find_tool("riscv64-linux-gnu-readelf"), "-h", "-l", box)
    assert "ELF32" in header
    assert "RISC-V" in header
    assert "EXEC (Executable file)" in header
    assert "soft-float ABI" in header
    assert "INTERP" not in header  # static: no dynamic loader
    assert "DYNAMIC" not in header


def test_initramfs_list_names_box_and_its_links(box: Path):
    lines = LIST.read_text().splitlines()
    assert f"file /bin/box {BOX} 0755 0 0" in lines
    assert "slink /init /bin/box 0777 0 0" in lines
    assert "nod /dev/console 0600 0 0 c 5 1" in lines
    assert "nod /dev/ttyS0 0600 0 0 c 4 64" in lines
    for d in ("/dev", "/proc", "/sys", "/mnt", "/bin"):
        assert f"dir {d} 0755 0 0" in lines
    names = applets(box)
    assert "sh" in names and "ping" in names and "udp" in names
    for name in names:
        if name != "init":  # /init, not /bin/init
            assert f"slink /bin/{name} box 0777 0 0" in lines, name


def test_gen_init_cpio_accepts_the_list(box: Path, tmp_path: Path):
    """The kernel's own gen_init_cpio (usr/gen_init_cpio.c, built for this host)
    turns the list into a cpio archive holding box."""
    tool = tmp_path / "gen_init_cpio"
    source = LINUX_BUILD / "linux-source-6.1" / "usr" / "gen_init_cpio.c"
    run_tool(find_tool("cc"), "-O1", "-o", tool, source)
    archive = subprocess.run([tool, "-t", "0", LIST], capture_output=True, check=True).stdout
    assert BOX.read_bytes() in archive
    for name in (b"init", b"bin/sh", b"dev/console", b"dev/ttyS0", b"TRAILER!!!"):
        assert name + b"\0" in archive, name


def test_echo_cat_ls(box: Path, tmp_path: Path):
    assert run_box(box, "echo", "hello", "world").stdout == b"hello world\n"
    assert run_box(box, "echo", "-n", "x").stdout == b"x"
    (tmp_path / "a.txt").write_text("alpha\n")
    (tmp_path / "b.txt").write_text("beta\n")
    (tmp_path / "a.txt").chmod(0o644)
    (tmp_path / "b.txt").chmod(0o644)
    (tmp_path / "sub").mkdir(mode=0o755)
    (tmp_path / "sub").chmod(0o755)
    assert run_box(box, "cat", str(tmp_path / "a.txt"), str(tmp_path / "b.txt")).stdout == b"alpha\nbeta\n"
    assert run_box(box, "cat", stdin=b"piped\n").stdout == b"piped\n"
    missing = run_box(box, "cat", str(tmp_path / "nope"))
    assert missing.returncode == 1 and b"no such file or directory" in missing.stderr
    # getdents64 gives no particular order
    assert sorted(run_box(box, "ls", str(tmp_path)).stdout.split()) == [b"a.txt", b"b.txt", b"sub"]
    long = {
        line.split()[-1]: line.split()[:2]
        for line in run_box(box, "ls", "-l", str(tmp_path)).stdout.decode().splitlines()
    }
    assert long["a.txt"] == ["-rw-r--r--", "6"] and long["b.txt"] == ["-rw-r--r--", "5"]
    assert long["sub"][0] == "drwxr-xr-x"  # its size: the host file system's


def test_uname_and_sleep(box: Path):
    assert run_box(box, "uname").stdout == b"Linux\n"
    assert run_box(box, "uname", "-m").stdout == b"riscv32\n"  # qemu-riscv32's answer
    started = time.monotonic()
    assert run_box(box, "sleep", "0.3").returncode == 0
    assert time.monotonic() - started >= 0.3


def test_udp_ask_and_echo_over_loopback(box: Path):
    """udp echo PORT answers udp ask 127.0.0.1 PORT TEXT (the host's loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    qemu = find_tool("qemu-riscv32")
    server = subprocess.Popen([qemu, "-0", "udp", str(box), "echo", port], stdout=subprocess.PIPE)
    try:
        assert server.stdout.readline() == f"udp: echoing on port {port}\n".encode()
        asked = run_box(box, "udp", "ask", "127.0.0.1", port, "hello", "there")
        assert asked.returncode == 0
        assert asked.stdout == f"reply from 127.0.0.1:{port} (11 bytes): hello there\n".encode()
        assert server.stdout.readline().endswith(b" (11 bytes): hello there\n")
    finally:
        server.kill()
        server.wait()
    silent = run_box(box, "udp", "ask", "127.0.0.1", port, "anyone?")
    assert silent.returncode == 1 and silent.stdout == f"udp: no reply from 127.0.0.1:{port}\n".encode()


def test_shell_runs_a_script_from_stdin(box: Path, path_dir: Path, tmp_path: Path):
    script = (
        "echo hi\n"
        "echo \"two  words\" 'and more'>out.txt\n"
        "echo again >> out.txt\n"
        "cat < out.txt\n"
        "  # a comment, then an empty line\n"
        "\n"
        "mkdir d\n"
        "cd d\n"
        "pwd\n"
        "cd ..\n"
        "ls\n"
        "nosuch\n"
        "exit 3\n"
        "echo not reached\n"
    )
    result = run_box(box, "sh", stdin=script.encode(), env={"PATH": str(path_dir)}, cwd=tmp_path)
    lines = result.stdout.decode().splitlines()
    assert lines[:4] == ["hi", "two  words and more", "again", f"{tmp_path}/d"]
    assert sorted(lines[4:]) == ["d", "out.txt"]  # ls: getdents64's order
    assert result.stderr == b"sh: nosuch: not found\n"
    assert result.returncode == 3
    assert (tmp_path / "out.txt").read_text() == "two  words and more\nagain\n"


def test_shell_minus_c(box: Path, path_dir: Path, tmp_path: Path):
    result = run_box(box, "sh", "-c", "echo one > f", env={"PATH": str(path_dir)}, cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "f").read_text() == "one\n"


def test_ctrl_c_kills_the_command_not_the_shell(box: Path, path_dir: Path):
    """On a terminal (a host pty): the prompt, `sleep 100` in its own foreground
    process group, ctrl-C ends it, and the shell, which ignores SIGINT, takes the
    terminal back and goes on."""
    qemu = find_tool("qemu-riscv32")
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session leader with the pty as its terminal
        os.execve(qemu, [qemu, "-0", "sh", str(box)], {"PATH": str(path_dir)})
    output = b""

    def read_until(text: bytes, limit: float = 15) -> None:
        nonlocal output
        deadline = time.monotonic() + limit
        while text not in output and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    output += os.read(fd, 4096)
                except OSError:
                    break
        assert text in output, output

    try:
        read_until(b"$ ")
        os.write(fd, b"sleep 100\n")
        read_until(b"sleep 100\r\n")
        time.sleep(1.5)  # sleep is running in the foreground
        started = time.monotonic()
        os.write(fd, b"\x03")
        read_until(b"^C\r\n$ ")  # the tty's echo, the shell's newline, the prompt
        assert time.monotonic() - started < 10
        os.write(fd, b"echo back\n")
        read_until(b"back\r\n$ ")
        os.write(fd, b"exit 5\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 5
    finally:
        os.close(fd)
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
