"""Debugging a guest with the real gdb-multiarch (installed by .ci/install-tools):
`tuivmm run GUEST --gdb 0` as a user runs it, gdb in batch mode against it, and the
run's command-line errors.  tests/vmm/test_gdbstub.py checks the protocol packet by
packet."""

from __future__ import annotations

import io
import os
import queue
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from elftools.elf.elffile import ELFFile
from test_cli import tuivmm

from machine.cpu.isa import decode

ROOT = Path(__file__).resolve().parent.parent
UNIX = ROOT / "tuivmm" / "images" / "unix.elf"
TIMEOUT = 120  # seconds: a hang fails the test instead of blocking it
WAITING = re.compile(r"^\[(\S+)\] gdb: waiting on 127\.0\.0\.1:(\d+)$")


def elf_symbols(path: Path) -> dict[str, int]:
    with path.open("rb") as f:
        return {sym.name: sym["st_value"] for sym in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}


def elf_words(path: Path, addr: int, count: int) -> list[int]:
    """`count` 32-bit words of the image at `addr`, as loaded."""
    with path.open("rb") as f:
        for seg in ELFFile(f).iter_segments():
            start = seg["p_paddr"]
            if seg["p_type"] == "PT_LOAD" and start <= addr < start + seg["p_filesz"]:
                data = seg.data()[addr - start : addr - start + 4 * count]
                return [int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data), 4)]
    raise AssertionError(f"{addr:#x} is in no segment of {path}")


class TuivmmRun:
    """`tuivmm run ARGS` in the background, stdin a pipe the test writes; stderr read
    line by line by a thread, so the test can wait for the stub's port."""

    def __init__(self, *args: str):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, "-m", "tuivmm", "run", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stderr(self) -> None:
        for raw in self.proc.stderr:
            self.lines.put(raw.decode(errors="replace").rstrip("\n"))
        self.lines.put(None)

    def port(self, name: str) -> int:
        """The port guest `name`'s stub says it listens on."""
        while (line := self.lines.get(timeout=TIMEOUT)) is not None:
            self.stderr.append(line)
            match = WAITING.match(line)
            if match and match.group(1) == name:
                return int(match.group(2))
        raise AssertionError(f"no gdb port for {name} on stderr: {self.stderr}")

    def finish(self, stdin: bytes) -> tuple[int, bytes]:
        """Type `stdin`, close it, and wait for the end: (exit status, stdout).  (Not
        Popen.communicate: it would read stderr too, against the thread that does.)"""
        if stdin:
            self.proc.stdin.write(stdin)
        self.proc.stdin.close()
        out = self.proc.stdout.read()  # to its end, when the run is over
        return self.proc.wait(timeout=TIMEOUT), out

    def rest_of_stderr(self) -> list[str]:
        """Once the run is over: the lines of stderr that `port` did not read."""
        rest = []
        while (line := self.lines.get(timeout=TIMEOUT)) is not None:
            rest.append(line)
        return rest

    def __enter__(self) -> TuivmmRun:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def gdb(elf: Path, port: int, *commands: str) -> str:
    """gdb-multiarch in batch mode on `elf`, attached to the stub, running `commands`;
    everything it printed."""
    args = ["gdb-multiarch", "-nx", "-batch", "-iex", "set debuginfod enabled off", "-iex", "set pagination off",
            str(elf), "-ex", "set architecture riscv:rv32", "-ex", f"target remote 127.0.0.1:{port}"]  # fmt: skip
    for command in commands:
        args += ["-ex", command]
    result = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
    return result.stdout + result.stderr


def registers(output: str, name: str) -> list[int]:
    """Every value gdb printed for register `name` (`info registers`), in order."""
    return [int(v, 16) for v in re.findall(rf"^{name}\s+0x([0-9a-f]+)", output, re.MULTILINE)]


def test_gdb_breaks_at_a_kernel_symbol_steps_reads_memory_and_registers_and_watches_a_variable():
    syms = elf_symbols(UNIX)
    main = syms["main"]
    with TuivmmRun("unix", "--no-net", "--gdb", "0") as run:
        port = run.port("unix")
        out = gdb(UNIX, port,
                  "info registers pc",
                  "break main",
                  "continue",
                  "info registers pc",
                  "stepi",
                  "info registers pc",
                  "x/4wx $pc",
                  "info registers priv sstatus mstatus",
                  "watch nextpid",  # 1 -> 2 when the first process is made
                  "continue",
                  "delete",
                  # Ctrl-C, as gdb's own event loop sends it a second into the continue.
                  "python import threading; threading.Timer(1, lambda: gdb.post_event("
                  "lambda: gdb.execute('interrupt'))).start()",
                  "continue",
                  "monitor guest",
                  "detach")  # fmt: skip
        status, stdout = run.finish(b"echo still here\nshutdown\n")
    assert "_entry ()" in out  # held at the first instruction
    assert f"Breakpoint 1 at {main:#x}: file unix/main.c" in out
    assert "Breakpoint 1, main () at unix/main.c" in out
    assert registers(out, "pc") == [syms["_entry"], main, main + 4]
    words = [int(w, 16) for w in re.findall(r"<main\+4>:\s+0x(\w+)\s+0x(\w+)\s+0x(\w+)\s+0x(\w+)", out)[0]]
    assert words == elf_words(UNIX, main + 4, 4)
    assert re.search(r"^priv\s+0x1\s+prv:1 \[Supervisor\]", out, re.MULTILINE), out
    assert registers(out, "sstatus") and registers(out, "mstatus")
    assert "Hardware watchpoint 2: nextpid" in out
    assert re.search(r"Old value = 1\s+New value = 2", out), out
    assert "Program received signal SIGINT, Interrupt." in out
    assert re.search(r"^unix: stopped in debugger, [SU]-mode, pc 0x[0-9a-f]{8}, \d+ instructions$", out, re.MULTILINE)
    assert "[Inferior 1 (Remote target) detached]" in out
    # Let go, the kernel boots on and its shell takes the input.
    assert status == 0, run.stderr
    assert b"[unix] still here\n" in stdout and b"[unix] unix: power off\n" in stdout


def user_main(name: str) -> tuple[int, list[int]]:
    """unix's user program `name` as the kernel embeds it (`NAME_elf`): where its main
    is (the target of the call at its entry) and its first four words of code there."""
    start = elf_symbols(UNIX)[f"{name}_elf"]
    with UNIX.open("rb") as f:
        elf = ELFFile(f)
        seg = next(s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_vaddr"] <= start < s["p_vaddr"] + s["p_filesz"])
        inner = ELFFile(io.BytesIO(seg.data()[start - seg["p_vaddr"] :]))
        entry = inner.header["e_entry"]
        code = next(s for s in inner.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_vaddr"] <= entry < s["p_vaddr"] + s["p_filesz"])
        data = code.data()[entry - code["p_vaddr"] :]
    call = decode(int.from_bytes(data[:4], "little"))
    assert call is not None and call.name == "jal", call
    main = entry + call.imm
    at = data[call.imm : call.imm + 16]
    return main, [int.from_bytes(at[i : i + 4], "little") for i in range(0, 16, 4)]


def test_gdb_hbreak_stops_user_programs_not_loaded_yet_and_watches_by_trigger():
    # hbreak is a trigger on a virtual address: it stops every process that runs
    # there, the shell at boot and then the program it execs (into pages that do not
    # exist when the hbreak is set), in U-mode.
    main, sh_words = user_main("sh")
    uptime_main, uptime_words = user_main("uptime")
    assert main == uptime_main and sh_words != uptime_words  # the same address, other code
    with TuivmmRun("unix", "--no-net", "--no-disk", "--gdb", "0") as run:
        port = run.port("unix")
        run.proc.stdin.write(b"uptime\nshutdown\n")  # the shell reads them once booted
        run.proc.stdin.flush()
        out = gdb(UNIX, port,
                  f"hbreak *{main:#x}",
                  "continue",
                  "x/4wx $pc",
                  "continue",
                  "info registers pc priv",
                  "x/4wx $pc",
                  "delete",
                  "rwatch ticks",  # the clock's tick count, read by uptime's system call
                  "continue",
                  "delete",
                  "continue")  # fmt: skip
        status, stdout = run.finish(b"")
    assert f"Hardware assisted breakpoint 1 at {main:#x}" in out
    assert out.count(f"Breakpoint 1, {main:#010x} in ?? ()") == 2, out
    shown = [[int(w, 16) for w in words] for words in
             re.findall(rf"^{main:#x}:\s+0x(\w+)\s+0x(\w+)\s+0x(\w+)\s+0x(\w+)$", out, re.MULTILINE)]  # fmt: skip
    assert shown == [sh_words, uptime_words], out
    assert registers(out, "pc") == [main]
    assert re.search(r"^priv\s+0x0\s+prv:0 \[User", out, re.MULTILINE), out
    assert "Hardware read watchpoint 2: ticks" in out
    assert re.search(r"Value = \d+", out), out
    assert re.search(r"in clock_ticks \(\) at unix/clock.c", out), out  # where ticks is read
    assert "[Inferior 1 (Remote target) exited normally]" in out
    assert status == 0, run.stderr
    assert b"[unix] up " in stdout and b"[unix] unix: power off\n" in stdout


def test_gdb_awatch_on_a_device_register_stops_the_kernel_at_its_uart_access():
    # The README's example: unix maps the UART at 0xf0000000 once paging is on.
    with TuivmmRun("unix", "--no-net", "--no-disk", "--gdb", "0") as run:
        port = run.port("unix")
        out = gdb(UNIX, port, "awatch *(char *)0xf0000000", "continue", "delete", "detach")
        status, stdout = run.finish(b"shutdown\n")
    assert "Hardware access (read/write) watchpoint 1: *(char *)0xf0000000" in out
    assert "Value = <unreadable>" in out  # the stub reads no device register
    assert re.search(r"^uartinit \(\) at unix/uart.c:\d+", out, re.MULTILINE), out
    assert status == 0, run.stderr
    assert b"[unix] unix: power off\n" in stdout


def test_gdb_calls_a_kernel_function_at_a_breakpoint_and_prints_what_it_returns():
    # gdb's return breakpoint for the call is on the kernel stack, which the guest may
    # not execute: it must stop there before the fetch faults, as it does on QEMU.
    with TuivmmRun("unix", "--no-net", "--no-disk", "--gdb", "0") as run:
        port = run.port("unix")
        run.proc.stdin.write(b"syscalls 1\nshutdown\n")  # the shell reads it once booted
        run.proc.stdin.flush()
        out = gdb(UNIX, port,
                  "break sys_getpid",
                  "continue",
                  "print *myproc()",
                  "print myproc()->pid == $1.pid",
                  "info registers pc",
                  "delete",
                  "continue")  # fmt: skip
        status, stdout = run.finish(b"")
    assert "Breakpoint 1, sys_getpid () at unix/syscall.c" in out
    proc = re.search(r"^\$1 = \{state = RUNNING, pid = (\d+), .*\}$", out, re.MULTILINE)
    assert proc and int(proc.group(1)) >= 2, out
    assert 'name = "syscalls\\000' in proc.group(0)
    assert re.search(r"^\$2 = 1$", out, re.MULTILINE), out
    assert registers(out, "pc") == [elf_symbols(UNIX)["sys_getpid"]]  # back where the call began
    assert "[Inferior 1 (Remote target) exited normally]" in out
    assert status == 0, run.stderr
    assert b"[unix] syscalls: 1 getpid calls in " in stdout and b"[unix] unix: power off\n" in stdout


def test_a_fault_in_a_function_gdb_calls_is_the_guests_own_as_on_qemu():
    # strlen(0) loads from address 0: the kernel's own trap handler panics, powering
    # off with code 1, and gdb hears the exit (QEMU's gdb loses the connection).
    with TuivmmRun("unix", "--no-net", "--no-disk", "--gdb", "0") as run:
        port = run.port("unix")
        run.proc.stdin.write(b"syscalls 1\n")
        run.proc.stdin.flush()
        out = gdb(UNIX, port, "break sys_getpid", "continue", "print strlen(0)")
        status, stdout = run.finish(b"")
    assert "[Inferior 1 (Remote target) exited with code 01]" in out
    assert "The program being debugged exited while in a function called from GDB." in out
    assert status == 1
    assert b"[unix] kerneltrap: load page fault at 0x0, pc " in stdout


def test_gdb_on_one_guest_while_another_runs_and_a_guest_that_exits_under_gdb():
    with TuivmmRun("hello", "compute", "--no-net", "--gdb", "hello=0") as run:
        port = run.port("hello")
        out = gdb(ROOT / "tuivmm" / "images" / "hello.elf", port, "continue")
        status, stdout = run.finish(b"")
    assert "[Inferior 1 (Remote target) exited normally]" in out
    assert status == 0
    assert b"[hello] Hello from hello, a tuivmm guest!\n" in stdout and b"[compute] compute: done\n" in stdout


def test_gdb_kill_ends_the_guest_and_the_run_says_so_with_status_137():
    # The other guest runs to its end; the killed one makes the status 137 (128 + SIGKILL).
    with TuivmmRun("unix", "compute", "--no-net", "--no-disk", "--gdb", "unix=0") as run:
        port = run.port("unix")
        out = gdb(UNIX, port, "kill")
        status, stdout = run.finish(b"")
        stderr = run.rest_of_stderr()
    assert "[Inferior 1 (Remote target) killed]" in out
    assert status == 137, stderr
    assert stderr == ["tuivmm: unix was killed by the debugger (gdb's kill)"]
    assert b"[compute] compute: done\n" in stdout and b"[unix]" not in stdout


def test_a_gdb_port_in_use_is_a_one_line_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = tuivmm("run", "hello", "--gdb", str(port))
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"tuivmm: hello: gdb: cannot listen on 127.0.0.1:{port}: ")


def test_bad_gdb_options_are_one_line_errors():
    assert tuivmm("run", "hello", "--gdb", "70000").returncode == 2
    both = tuivmm("run", "hello", "hello", "--gdb", "1234", "--gdb", "hello-2=1234")
    assert both.returncode == 2
    assert both.stderr.decode() == "tuivmm: --gdb: each guest needs a port of its own\n"
    nobody = tuivmm("run", "hello", "--gdb", "basic=1234")
    assert nobody.returncode == 2 and "no guest named basic" in nobody.stderr.decode()
