"""`tuivmm run`, the monitor without the dashboard, as a user runs it: a subprocess, its
exit status, stdout and stderr.  The bare machine (`tuivmm bare`, itself checked
against QEMU) is the oracle for what each guest prints."""

import os
import re
import select
import shutil
import signal
import sys
import time
from typing import Self

import pytest
from test_cli import tuivmm
from test_guests import SCRIPTS

from tuivmm.disk.tufs import mkfs
from tuivmm.lineup.packaged import DESCRIPTIONS, WANTS_DISK

PREFIX = re.compile(rb"^\[([^\]\n]+)\] ", re.MULTILINE)


def by_guest(stdout: bytes) -> dict[str, bytes]:
    """Each guest's console, from the prefixed lines of `tuivmm run`; every line must
    carry a prefix."""
    consoles: dict[str, bytearray] = {}
    for line in stdout.splitlines(keepends=True):
        match = PREFIX.match(line)
        assert match is not None, f"a line without a [name] prefix: {line!r}"
        consoles.setdefault(match.group(1).decode(), bytearray()).extend(line[match.end() :])
    return {name: bytes(text) for name, text in consoles.items()}


def one_line_error(result) -> str:
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    return err.strip()


# linux needs a session that ends in poweroff: tests/test_linux_guest.py runs one on
# each machine and compares what its commands print.
@pytest.mark.parametrize("name", [name for name in DESCRIPTIONS if name != "linux"])
def test_each_packaged_guest_prints_under_the_vmm_what_it_prints_on_the_bare_machine(name, tmp_path):
    stdin = SCRIPTS.get(name, b"")
    bare_args, run_args = [], ["--no-net"]  # the bare board has no network card
    if name in WANTS_DISK:  # both get the same fresh disk
        bare_disk, run_disk = tmp_path / "bare.img", tmp_path / "run.img"
        mkfs(bare_disk)
        shutil.copyfile(bare_disk, run_disk)
        bare_args += ["--disk", str(bare_disk)]
        run_args += ["--disk", f"{name}={run_disk}"]
    bare = tuivmm("bare", *bare_args, name, stdin=stdin)
    run = tuivmm("run", *run_args, name, stdin=stdin)
    assert bare.returncode == 0, bare.stderr
    assert run.returncode == 0, run.stderr
    assert run.stderr == b""
    assert bare.stdout.strip(), "the guest printed nothing: nothing compared"
    expected = bare.stdout if bare.stdout.endswith(b"\n") else bare.stdout + b"\n"
    assert by_guest(run.stdout) == {name: expected}
    if name in WANTS_DISK:
        assert run_disk.read_bytes() == bare_disk.read_bytes()


def test_unix_gets_a_network_card_and_a_throwaway_disk_by_default(tmp_path):
    result = tuivmm("run", "unix", stdin=b"echo hi\nshutdown\n", env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0
    unix = by_guest(result.stdout)["unix"].decode()
    assert "unix: net 10.0.0.1 mac 52:54:00:00:00:01\n" in unix
    assert "unix: disk of 2048 blocks" in unix
    assert "$ echo hi\nhi\n" in unix and unix.endswith("unix: power off\n")
    assert one_line_error(result).startswith("tuivmm: unix has no --disk, so it gets a fresh empty 2 MiB disk")
    assert list(tmp_path.iterdir()) == []  # the throwaway disk is gone


def test_stdin_goes_to_the_first_guest_and_both_guests_run_to_the_end():
    result = tuivmm("run", "--no-disk", "unix", "hello", stdin=b"echo hi\nshutdown\n")
    assert result.returncode == 0, result.stderr
    consoles = by_guest(result.stdout)
    assert consoles["hello"] == b"Hello from hello, a tuivmm guest!\n"
    assert "$ echo hi\nhi\n$ shutdown\n" in consoles["unix"].decode()


def test_two_guests_at_once_print_complete_prefixed_lines():
    alone = {name: tuivmm("bare", name).stdout for name in ("hello", "compute")}
    result = tuivmm("run", "hello", "compute")
    assert result.returncode == 0
    assert result.stderr == b""
    assert by_guest(result.stdout) == alone
    assert b"[compute] compute: done\n" in result.stdout


def test_a_guest_twice_gets_a_second_name():
    result = tuivmm("run", "hello", "hello")
    assert result.returncode == 0
    assert sorted(result.stdout.splitlines()) == [b"[hello-2] Hello from hello, a tuivmm guest!",
                                                  b"[hello] Hello from hello, a tuivmm guest!"]  # fmt: skip


def last_line(result) -> str:
    return result.stdout.decode().splitlines()[-1]


def test_the_naive_vmm_on_flawed_hardware_lets_the_user_program_escape():
    result = tuivmm("run", "--flawed-eret", "eret-escape")
    assert re.fullmatch(r"\[eret-escape\] ERET-ESCAPE: ESCAPED .+", last_line(result))


@pytest.mark.parametrize("remedy", ["bt", "hw"])
def test_binary_translation_and_the_hardware_assist_close_the_hole(remedy):
    result = tuivmm("run", "--flawed-eret", "--remedy", remedy, "eret-escape")
    assert result.returncode == 0
    assert last_line(result) == "[eret-escape] ERET-ESCAPE: PROTECTED"


def test_the_paravirtual_guest_is_protected_with_the_pv_remedy():
    result = tuivmm("run", "--flawed-eret", "--remedy", "pv", "eret-escape-pv")
    assert result.returncode == 0
    assert last_line(result) == "[eret-escape-pv] ERET-ESCAPE: PROTECTED"


def test_correct_hardware_needs_no_remedy():
    result = tuivmm("run", "eret-escape")
    assert result.returncode == 0
    assert last_line(result) == "[eret-escape] ERET-ESCAPE: PROTECTED"


def test_remedies_are_given_per_guest_by_name():
    result = tuivmm("run", "--flawed-eret", "--remedy", "eret-escape-2=hw", "eret-escape", "eret-escape")
    consoles = {name: text.decode().splitlines()[-1] for name, text in by_guest(result.stdout).items()}
    assert consoles["eret-escape"].startswith("ERET-ESCAPE: ESCAPED ")
    assert consoles["eret-escape-2"] == "ERET-ESCAPE: PROTECTED"


def test_trace_exits_writes_one_line_per_trap_as_it_happens(tmp_path):
    trace = tmp_path / "exits.txt"
    result = tuivmm("run", "--trace-exits", str(trace), "hello")
    assert result.returncode == 0
    lines = trace.read_text().splitlines()
    assert any("mmio write" in line and "uart0" in line for line in lines)
    assert "mmio write" in lines[-1] and "finisher" in lines[-1]  # the last thing hello does: power off
    assert all(line.split()[1] == "hello" for line in lines)
    assert [int(line.split()[0]) for line in lines] == list(range(len(lines)))  # every event, in order


def test_trace_exits_to_stderr():
    result = tuivmm("run", "--trace-exits", "-", "hello")
    assert result.returncode == 0
    assert "finisher" in result.stderr.decode().splitlines()[-1]


def test_stats_counts_instructions_exits_and_faults():
    result = tuivmm("run", "--stats", "hello")
    assert result.returncode == 0
    err = result.stderr.decode()
    match = re.search(r"^tuivmm: hello: (\d+) instructions: (\d+) direct, (\d+) emulated$", err, re.MULTILINE)
    assert match is not None, err
    total, direct, emulated = map(int, match.groups())
    assert total == direct + emulated > 0 and emulated > 0
    match = re.search(r"^tuivmm: hello: (\d+) exits by reason: (.*)$", err, re.MULTILINE)
    assert match is not None, err
    counts = {reason: int(n) for reason, n in re.findall(r"([a-z. ]+?) (\d+)(?:, |$)", match.group(2))}
    assert counts["mmio"] > 30 and sum(counts.values()) == int(match.group(1))  # hello prints by MMIO
    assert re.search(r"^tuivmm: hello: page faults: [1-9]\d* hidden, 0 true$", err, re.MULTILINE), err


def test_max_insns_stops_the_guest_with_status_124():
    result = tuivmm("run", "--max-insns", "1000", "compute", "hello")
    assert result.returncode == 124
    assert by_guest(result.stdout)["hello"] == b"Hello from hello, a tuivmm guest!\n"
    assert "[compute] compute: done" not in result.stdout.decode()
    assert one_line_error(result) == "tuivmm: compute stopped after 1000 instructions (--max-insns 1000)"


def test_a_missing_image_is_a_one_line_error():
    result = tuivmm("run", "hello", "no/such/image.elf")
    assert result.returncode == 2
    assert result.stdout == b""
    assert one_line_error(result) == (
        "tuivmm: no/such/image.elf: no such file or packaged guest (`tuivmm guests` lists them)"
    )


def test_a_misspelled_guest_name_is_one_line_with_the_close_match_and_the_hint():
    result = tuivmm("run", "hello", "uinx")
    assert result.returncode == 2
    assert one_line_error(result) == (
        "tuivmm: uinx: no such file or packaged guest; did you mean unix? (`tuivmm guests` lists them)"
    )


def test_a_disk_for_a_misspelled_guest_name_is_refused_and_no_file_is_made(tmp_path):
    result = tuivmm("run", "--disk", f"unxi={tmp_path / 'x.img'}", "unix")
    assert result.returncode == 2
    assert one_line_error(result).startswith("tuivmm: --disk unxi=...: no guest named unxi in this run (unix); "
                                             "did you mean unix?")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_one_guest_takes_a_disk_file_without_its_name(tmp_path):
    result = tuivmm("run", "--disk", str(tmp_path / "u.img"), "unix", stdin=b"shutdown\n")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "u.img").stat().st_size == 2 << 20


def test_more_ram_than_a_guest_may_have_is_refused():
    result = tuivmm("run", "--ram", "hello=1025", "hello")
    assert result.returncode == 2
    assert "argument --ram: must be a whole number of MiB from 1 to 1024: '1025'" in result.stderr.decode()


def test_an_image_that_does_not_load_is_a_one_line_error():
    result = tuivmm("run", "hello", "/bin/true")
    assert result.returncode == 2
    assert "not RISC-V" in one_line_error(result)


@pytest.mark.parametrize("value", ["magic", "hello=magic"])
def test_a_bad_remedy_is_a_usage_error(value):
    result = tuivmm("run", "--remedy", value, "hello")
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.startswith("usage: tuivmm run")
    assert "invalid choice: 'magic'" in err


@pytest.mark.parametrize("value", ["bogus", "linux=bogus"])
def test_a_bad_sbi_is_a_usage_error(value):
    result = tuivmm("run", "--sbi", value, "linux")
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.startswith("usage: tuivmm run") and "Traceback" not in err
    assert err.splitlines()[-1] == "tuivmm run: error: argument --sbi: invalid choice: 'bogus' (choose from firmware, vmm)"


def test_sbi_vmm_for_an_image_with_no_kernel_behind_a_firmware_is_a_one_line_error():
    result = tuivmm("run", "--no-net", "--no-disk", "--sbi", "hello=vmm", "hello", "linux")
    assert result.returncode == 2
    assert one_line_error(result).startswith("tuivmm: ") and one_line_error(result).endswith(
        "hello.elf: no S-mode kernel for --sbi vmm to start: it needs an image built with guests/sbi, whose "
        "payload starts at the symbol sbi_payload_start (as linux)")  # fmt: skip


def test_sbi_vmm_for_one_guest_by_name_starts_that_one_in_s_mode():
    """`--sbi linux=vmm linux unix`: linux's first line is its kernel's (no firmware
    banner), unix keeps its own M-mode kernel and boots as ever."""
    result = tuivmm("run", "--no-net", "--no-disk", "--max-insns", "400000", "--sbi", "linux=vmm", "linux", "unix")
    assert result.returncode == 124, result.stderr.decode()
    consoles = by_guest(result.stdout)
    assert consoles["linux"].startswith(b"[    0.000000] Linux version 6.1.")
    assert b"tuivmm sbi:" not in consoles["linux"]
    assert b"\nunix: " in consoles["unix"]  # its kernel's first words


def test_an_option_for_a_guest_that_is_not_there_is_a_one_line_error():
    result = tuivmm("run", "--ram", "compute=64", "hello")
    assert result.returncode == 2
    assert one_line_error(result) == "tuivmm: --ram compute=...: no guest named compute in this run (hello)"


SLEEPER = "_start:\n    wfi\n    j _start\n"  # asleep, no interrupt enabled: forever
FAILER = "_start:\n    li t0, 0x100000\n    li t1, (5 << 16) | 0x3333\n    sw t1, 0(t0)\n"
STUCK = "_start:\n    csrw mtvec, zero\n    unimp\n"  # the handler at 0 is not there: traps forever


def test_a_guest_asleep_forever_with_no_input_left_ends_the_run_with_status_3(tmp_path):
    (tmp_path / "sleeper.S").write_text(SLEEPER)
    result = tuivmm("run", str(tmp_path / "sleeper.S"), "hello")
    assert result.returncode == 3
    assert by_guest(result.stdout) == {"hello": b"Hello from hello, a tuivmm guest!\n"}
    assert one_line_error(result) == "tuivmm: sleeper is asleep with no timer armed and no input left; stopping"


def test_a_failing_guest_gives_its_code_and_a_crashed_guest_4(tmp_path):
    for name, text in (("fails", FAILER), ("stuck", STUCK), ("sleeper", SLEEPER)):
        (tmp_path / f"{name}.S").write_text(text)
    result = tuivmm("run", str(tmp_path / "stuck.S"), str(tmp_path / "fails.S"), str(tmp_path / "sleeper.S"))
    assert result.returncode == 5  # a failure outranks a crash and an idle guest
    err = result.stderr.decode()
    assert "tuivmm: fails reported failure (code 5)\n" in err
    assert re.search(r"^tuivmm: stuck crashed: [^\n]+$", err, re.MULTILINE)
    result = tuivmm("run", str(tmp_path / "stuck.S"), "hello")
    assert result.returncode == 4
    assert re.fullmatch(r"tuivmm: stuck crashed: .+", one_line_error(result))


def test_a_partial_last_line_is_ended_and_prefixed(tmp_path):
    source = tmp_path / "nonl.S"
    source.write_text("_start:\n    li t0, 0x10000000\n    li t1, 'x'\n    sb t1, 0(t0)\n"
                      "    li t0, 0x100000\n    li t1, 0x5555\n    sw t1, 0(t0)\n")  # fmt: skip
    result = tuivmm("run", str(source))
    assert result.returncode == 0
    assert result.stdout == b"[nonl] x\n"


def test_help_documents_the_run_command_and_its_options():
    top = tuivmm("--help").stdout.decode()
    assert "run GUEST" in top
    sub = tuivmm("run", "--help").stdout.decode()
    for option in ("--ram", "--disk", "--no-disk", "--no-net", "--max-insns", "--flawed-eret", "--remedy",
                   "--trace-exits", "--stats"):  # fmt: skip
        assert option in sub


def run_with_slow_stdin(args: list[str], pieces: list[bytes], pause: float = 1.0) -> tuple[int, bytes]:
    """`tuivmm run ARGS` with stdin written piece by piece, `pause` seconds apart."""
    import os
    import subprocess
    import sys
    import time

    from test_cli import ROOT

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "tuivmm", "run", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)  # fmt: skip
    for piece in pieces:
        proc.stdin.write(piece)
        proc.stdin.flush()
        time.sleep(pause)
    proc.stdin.close()
    out = proc.stdout.read()
    return proc.wait(timeout=120), out


def test_a_slow_script_gives_the_same_run_as_a_fast_one():
    # The guest is held while it waits for a line that has not come, so even its
    # clock (`uptime`, in timer ticks) reads the same.
    script = [b"echo hi\n", b"uptime\n", b"shutdown\n"]
    fast = tuivmm("run", "--no-disk", "unix", stdin=b"".join(script))
    code, slow = run_with_slow_stdin(["--no-disk", "unix"], script)
    assert fast.returncode == code == 0
    assert "$ uptime\nup " in by_guest(fast.stdout)["unix"].decode()
    assert slow == fast.stdout


class OnATerminal:
    """`tuivmm ARGS` with a pseudo-terminal of its own as stdin, stdout and stderr, as a
    person runs it.  `seen` is everything it has written.  Every wait is bounded
    (`WAIT` seconds, a guard against hangs, never a measurement): a regression fails
    the test instead of hanging the suite, and the child is killed at the end,
    however the test ends."""

    WAIT = 120

    def __init__(self, *args: str):
        import pty

        from test_cli import ROOT

        self.seen = bytearray()
        self.matched = 0  # where the last read_until matched, in seen
        self.status: int | None = None
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: tuivmm on the terminal
            try:
                os.environ["PYTHONPATH"] = str(ROOT)
                os.chdir(ROOT)
                os.execv(sys.executable, [sys.executable, "-m", "tuivmm", *args])
            finally:
                os._exit(127)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def _read(self, timeout: float) -> bool:
        """Add what the child writes within `timeout` seconds to `seen`; False at its end."""
        if select.select([self.fd], [], [], timeout)[0]:
            try:
                data = os.read(self.fd, 4096)
            except OSError:  # EIO: the child has gone, and so has its end of the terminal
                return False
            if not data:
                return False
            self.seen.extend(data)
        return True

    def read_until(self, text: bytes) -> None:
        """Read until `text` appears after what the last read_until matched (it may have
        come already, in the same read as that); fail if it does not."""
        start = self.matched
        deadline = time.monotonic() + self.WAIT
        while (at := self.seen.find(text, start)) < 0:
            if time.monotonic() > deadline or not self._read(0.1):
                raise AssertionError(f"{text!r} never came; after it was awaited: {bytes(self.seen[start:])!r}")
        self.matched = at + len(text)

    def wait(self) -> int:
        """Read to the end and wait for the child to exit: its exit status."""
        deadline = time.monotonic() + self.WAIT
        while self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
            elif time.monotonic() > deadline:
                raise AssertionError(f"tuivmm did not exit; it wrote: {bytes(self.seen)!r}")
            else:
                self._read(0.1)  # (keeps the terminal drained, so the child never blocks writing)
        while self._read(0):
            pass
        return self.status


def test_on_a_terminal_keys_go_to_the_first_guest_and_ctrl_a_x_quits():
    with OnATerminal("run", "--no-disk", "unix", "hello") as term:
        term.read_until(b"[unix] $ ")  # an unfinished line (the prompt) shows on a terminal
        term.type(b"echo hi\r")
        term.read_until(b"[unix] hi\r\n")
        term.type(b"ech")
        term.read_until(b"$ ech")
        term.type(b"\x01x")
        term.read_until(b"quit (Ctrl-A x)\r\n")
        assert term.wait() == 130
    seen = term.seen
    assert b"[hello] Hello from hello, a tuivmm guest!\r\n" in seen
    assert b"[unix] $ echo hi\r\n[unix] hi\r\n" in seen
    assert seen.endswith(b"[unix] $ ech\r\ntuivmm: quit (Ctrl-A x)\r\n")


def test_on_a_terminal_a_message_that_comes_while_it_is_raw_ends_with_cr_lf():
    # The gdb stub's port is said once the terminal is raw: a bare LF would leave the
    # next line starting mid-screen.
    with OnATerminal("run", "--no-disk", "--no-net", "unix", "--gdb", "0") as term:
        term.read_until(b"[unix] gdb: waiting on 127.0.0.1:")
        term.read_until(b"\n")
        term.type(b"\x01x")
        term.read_until(b"quit (Ctrl-A x)\r\n")
        assert term.wait() == 130
    assert re.search(rb"\[unix\] gdb: waiting on 127\.0\.0\.1:\d+\r\n", term.seen), term.seen


def test_on_a_terminal_bare_traces_to_stderr_in_lines_that_end_with_cr_lf(tmp_path):
    source = tmp_path / "off.S"
    source.write_text("_start:\n    li t0, 0x100000\n    li t1, 0x5555\n    sw t1, 0(t0)\n")
    with OnATerminal("bare", "--trace", "-", str(source)) as term:
        assert term.wait() == 0
    lines = term.seen.split(b"\r\n")
    assert [line.split()[2] for line in lines[:4]] == [b"80000000:", b"80000004:", b"80000008:", b"8000000c:"]
    assert b"\n" not in b"".join(lines)  # no LF without its CR


TICKER = """
# prints "tick" every two million instructions or so, for ever
_start:
    li s0, 0x10000000       # UART
again:
    li t0, 1000000
1:  addi t0, t0, -1
    bnez t0, 1b
    la t1, msg
2:  lbu t2, 0(t1)
    beqz t2, again
    sb t2, 0(s0)
    addi t1, t1, 1
    j 2b
msg: .asciz "tick\\n"
"""


def test_on_a_terminal_another_guests_lines_leave_no_stale_prompt_behind(tmp_path):
    import pyte

    ticker = tmp_path / "ticker.S"
    ticker.write_text(TICKER)
    with OnATerminal("run", "--no-disk", "--no-net", "unix", str(ticker)) as term:
        term.read_until(b"[unix] $ ")
        term.read_until(b"[ticker] tick\r\n")  # while unix waits at its prompt
        term.read_until(b"[ticker] tick\r\n")
        term.type(b"ec")
        term.read_until(b"ec")
        term.read_until(b"[ticker] tick\r\n")
        term.type(b"\x01x")
        term.read_until(b"quit (Ctrl-A x)\r\n")
        assert term.wait() == 130
    # The screen a person sees, and its scrollback, as a VT100 terminal shows them.
    screen = pyte.HistoryScreen(80, 24, history=100000)
    pyte.ByteStream(screen).feed(bytes(term.seen))
    scrollback = ["".join(line[x].data for x in range(80)).rstrip() for line in screen.history.top]
    lines = scrollback + [line.rstrip() for line in screen.display]
    assert lines.count("[ticker] tick") >= 3
    assert [line for line in lines if line.startswith("[unix] $")] == ["[unix] $ ec"]  # once: no stale prompts


def test_on_a_terminal_the_guests_clock_follows_the_wall_clock():
    # A person is watching: an idle unix's clock goes on as the wall clock does (piped,
    # time is virtual, and an idle guest's clock stands still until input comes).
    with OnATerminal("run", "--no-disk", "--no-net", "unix") as term:
        term.read_until(b"[unix] unix shell: type help\r\n[unix] $ ")
        term.type(b"uptime\r")
        term.read_until(b"[unix] $ ")
        time.sleep(1.5)  # the guest idles at its prompt meanwhile
        term.type(b"uptime\r")
        term.read_until(b"[unix] $ ")
        term.type(b"\x01x")
        assert term.wait() == 130
    ticks = [int(n) for n in re.findall(rb"\[unix\] up (\d+) ticks", term.seen)]
    assert len(ticks) == 2, term.seen
    assert ticks[1] - ticks[0] >= 140  # 100 ticks a second: the 1.5 s passed for the guest too
