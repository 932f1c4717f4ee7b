"""The unix guest: a small Unix-like kernel booting to a shell, on our bare
machine and on QEMU.

Each test pipes a scripted session into `tuivmm bare`; the runner paces input a
line at a time as the guest waits for it, so every run is the same run.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from test_cli import tuivmm
from toolchain import run_qemu

ROOT = Path(__file__).resolve().parent.parent
UNIX = ROOT / "tuivmm" / "images" / "unix.elf"
PROMPT = "$ "


def session(script: str | bytes, timeout: float = 120) -> tuple[int, str]:
    """Run unix.elf on our machine with `script` typed in; (exit status, console)."""
    data = script.encode() if isinstance(script, str) else script
    result = tuivmm("bare", str(UNIX), stdin=data, timeout=timeout)
    assert result.stderr == b""
    return result.returncode, result.stdout.decode()


def command_output(console: str, command: str) -> str:
    """What the shell printed between `$ COMMAND` and the next prompt."""
    start = console.index(PROMPT + command + "\n") + len(PROMPT + command + "\n")
    return console[start : console.index(PROMPT, start)]


def test_boots_to_the_shell_prompt_quickly_and_shutdown_powers_off_with_status_0():
    started = time.monotonic()
    code, console = session("shutdown\n")
    elapsed = time.monotonic() - started
    assert code == 0
    assert "unix shell: type help\n$ shutdown\nunix: power off\n" in console
    assert elapsed < 5, f"boot and shutdown took {elapsed:.1f} s"


def test_help_lists_the_commands_and_echo_prints_its_arguments():
    code, console = session("help\necho hello   unix world\nshutdown\n")
    assert code == 0
    help_text = command_output(console, "help")
    for name in ("help", "shutdown", "echo", "ps", "kill", "mem", "uptime", "bench"):
        assert f"  {name}" in help_text
    assert command_output(console, "echo hello   unix world") == "hello unix world\n"


def test_programs_run_by_fork_exec_wait_and_an_unknown_name_is_reported():
    code, console = session("bench 3\nnosuch\necho still here\nshutdown\n")
    assert code == 0
    assert re.fullmatch(r"bench: 3 rounds, checksum [0-9a-f]+\n", command_output(console, "bench 3"))
    assert command_output(console, "nosuch") == "sh: nosuch: no such program\n"
    assert command_output(console, "echo still here") == "still here\n"


def test_ps_lists_the_shell_and_itself():
    code, console = session("ps\nshutdown\n")
    assert code == 0
    lines = command_output(console, "ps").splitlines()
    assert lines[0].split() == ["PID", "PPID", "STATE", "SIZE", "NAME"]
    rows = {row.split()[-1]: row.split() for row in lines[1:]}
    assert rows["sh"][0] == "1"
    assert rows["ps"][1] == "1" and rows["ps"][2] == "run"


def test_mem_counts_pages_and_running_programs_does_not_leak_them():
    code, console = session("mem\nbench 1\necho x\nfault\nmem\nshutdown\n")
    assert code == 0
    reports = re.findall(r"pages: (\d+) free, (\d+) used, (\d+) total", console)
    assert len(reports) == 2
    assert reports[0] == reports[1]
    assert int(reports[0][2]) > 32000  # 128 MiB less the kernel


def test_a_faulting_program_is_killed_with_the_fault_named_and_the_shell_survives():
    code, console = session("fault\nfault load\nfault kernel\necho alive\nshutdown\n")
    assert code == 0
    assert re.search(r"pid \d+ \(fault\): killed: store page fault at 0x0, pc 0x[0-9a-f]+\n",
                     command_output(console, "fault"))  # fmt: skip
    assert "killed: load page fault at 0x10," in command_output(console, "fault load")
    # Kernel memory is mapped in every process, but without PTE_U.
    assert "killed: store page fault at 0x80000000," in command_output(console, "fault kernel")
    assert command_output(console, "echo alive") == "alive\n"


def test_ctrl_c_kills_a_runaway_program_and_the_shell_carries_on():
    code, console = session(b"spin\n\x03echo after\nshutdown\n")
    assert code == 0
    assert "spin: pid 2\n" in console
    assert "^C\n$ echo after\nafter\n" in console


def test_kill_stops_a_background_job_while_the_shell_keeps_running():
    code, console = session("spin &\nkill 2\necho reaped\nps\nshutdown\n")
    assert code == 0
    assert "[2]\n" in console
    assert command_output(console, "kill 2") == ""
    assert "spin" not in command_output(console, "ps")


def test_a_scripted_session_prints_exactly_what_it_prints_on_qemu():
    # Nothing timing-dependent: no uptime, and no ps (a tick between the shell's
    # fork and wait decides whether ps sees the shell asleep or runnable).
    script = ("help\necho a  b   c\nmem\nbench\nfault\nfault load\nfault exec\n"
              "fault kernel\nnosuch\nmem\nshutdown\n").encode()  # fmt: skip
    ours = tuivmm("bare", str(UNIX), stdin=script, timeout=120)
    qemu_code, qemu_out = run_qemu(UNIX, stdin=script)
    assert ours.returncode == qemu_code == 0
    assert ours.stdout == qemu_out


def test_sleep_waits_the_ticks_it_is_asked_for():
    code, console = session("sleep 50\nuptime\nshutdown\n")
    assert code == 0
    ticks = int(re.search(r"up (\d+) ticks", console).group(1))
    assert ticks >= 50


def test_backspace_erases_a_character_and_ctrl_u_the_whole_line():
    code, console = session(b"ecx\x7fho hi\ngarbage\x15echo ok\nshutdown\n")
    assert code == 0
    assert "$ ecx\b \bho hi\nhi\n" in console
    assert "$ garbage" + "\b \b" * 7 + "echo ok\nok\n" in console


def test_a_script_can_wait_for_the_prompt_through_a_pipe_before_typing():
    # As a person (or expect) would: nothing is typed until "$ " has been seen.
    import os
    import select
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "tuivmm", "bare", "unix"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=root, env=dict(os.environ, PYTHONPATH=str(root)))  # fmt: skip
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while b"$ " not in seen:
            assert time.monotonic() < deadline, f"no prompt; got {seen!r}"
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                assert chunk, f"tuivmm exited before the prompt; got {seen!r}"
                seen += chunk
        proc.stdin.write(b"echo ready\nshutdown\n")
        proc.stdin.close()
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert b"ready\n" in rest
