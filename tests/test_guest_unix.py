"""The unix guest: a small Unix-like kernel booting to a shell, on our bare
machine and on QEMU.

Each test pipes a scripted session into `tuivmm bare`; the runner paces input a
line at a time as the guest waits for it, so every run is the same run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from test_cli import tuivmm
from toolchain import run_qemu

ROOT = Path(__file__).resolve().parent.parent
UNIX = ROOT / "tuivmm" / "images" / "unix.elf"
PROMPT = "$ "
# What `tuivmm bare unix` says on stderr when it is given no --disk.
THROWAWAY_NOTICE = (b"tuivmm: unix has no --disk, so it gets a fresh empty 2 MiB disk that is thrown "
                    b"away at exit (use --disk FILE to keep its files)\n")  # fmt: skip


def session(script: str | bytes, timeout: float = 120, flags: tuple[str, ...] = ()) -> tuple[int, str]:
    """Run unix.elf on our machine with `script` typed in and `flags` given to `bare`;
    (exit status, console).  Unless `flags` has --no-disk, it runs on a throwaway disk
    and says so on stderr."""
    data = script.encode() if isinstance(script, str) else script
    result = tuivmm("bare", *flags, str(UNIX), stdin=data, timeout=timeout)
    assert result.stderr == (b"" if "--no-disk" in flags else THROWAWAY_NOTICE)
    return result.returncode, result.stdout.decode()


def command_output(console: str, command: str) -> str:
    """What the shell printed between `$ COMMAND` and the next prompt."""
    start = console.index(PROMPT + command + "\n") + len(PROMPT + command + "\n")
    return console[start : console.index(PROMPT, start)]


def test_boots_to_the_shell_prompt_and_shutdown_powers_off_with_status_0():
    # How long it takes is for bench/ to measure, not for a test to assert.
    code, console = session("shutdown\n")
    assert code == 0
    assert "unix shell: type help\n$ shutdown\nunix: power off\n" in console


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


def test_a_scripted_session_prints_exactly_what_it_prints_on_qemu(tmp_path):
    # Nothing timing-dependent: no uptime, and no ps (a tick between the shell's
    # fork and wait decides whether ps sees the shell asleep or runnable).
    # Both boards get the same fresh disk, as `tuivmm bare unix` gives ours one.
    script = ("help\necho a  b   c\nmem\nbench\nfault\nfault load\nfault exec\n"
              "fault kernel\nnosuch\nmem\nshutdown\n").encode()  # fmt: skip
    ours_image = fresh_image(tmp_path / "ours.img")
    qemu_image = tmp_path / "qemu.img"
    qemu_image.write_bytes(ours_image.read_bytes())
    ours = tuivmm("bare", "--disk", str(ours_image), str(UNIX), stdin=script, timeout=120)
    qemu_code, qemu_out = run_qemu(UNIX, stdin=script, disk=qemu_image)
    assert ours.returncode == qemu_code == 0
    assert "unix: disk of 2048 blocks" in ours.stdout.decode()
    assert ours.stdout == qemu_out


def test_sleep_waits_the_ticks_it_is_asked_for():
    code, console = session("sleep 50\nuptime\nshutdown\n")
    assert code == 0
    ticks = int(re.search(r"up (\d+) ticks", console).group(1))
    assert ticks >= 50


# The clock tick runs only while a process runs or waits for time ("tickless idle"):
# ticks are read from mtime, not counted, and the shell at its prompt leaves no timer
# armed at all.  Under the VMM: tests/vmm/test_whole_guests.py.


def uptimes(console: str) -> list[int]:
    return [int(t) for t in re.findall(r"up (\d+) ticks", console)]


def test_sleep_between_two_uptimes_takes_its_ticks_and_hardly_more():
    code, console = session("uptime\nsleep 50\nuptime\nsleep 1\nuptime\nshutdown\n")
    assert code == 0
    first, second, third = uptimes(console)
    # Virtual time: the same every run.  Starting the programs (fork, exec) takes a
    # tick or two of it on top of the sleep.
    assert 50 <= second - first <= 53
    assert 1 <= third - second <= 4


def test_a_script_without_shutdown_ends_when_unix_waits_at_its_prompt_for_more():
    # Asleep with no timer armed, its UART's receive interrupt on: the script is done.
    result = tuivmm("bare", "--no-disk", str(UNIX), stdin=b"echo hi\n")
    assert result.returncode == 0
    assert result.stdout.decode().endswith("$ echo hi\nhi\n$ ")
    assert result.stderr.decode() == "tuivmm: the input has ended, and the guest waits for more; stopping\n"
    run = tuivmm("run", "--no-disk", str(UNIX), "unix", stdin=b"echo hi\n")  # the second guest: no input ever
    assert run.returncode == 0
    unix = [line for line in run.stdout.decode().splitlines() if line.startswith("[unix] ")]
    assert unix[-3:] == ["[unix] $ echo hi", "[unix] hi", "[unix] $ "]
    assert run.stderr.decode().splitlines()[-1] == "tuivmm: the input has ended, and unix, unix-2 wait for more; stopping"


def test_a_cpu_bound_job_is_still_preempted_so_the_shell_answers_beside_it():
    # Were the tick stopped while spin runs, the shell would never run again and the
    # run would never end.
    code, console = session("spin &\necho x\nuptime\nps\nkill 2\necho done\nshutdown\n", timeout=60)
    assert code == 0
    console = console.replace(".", "")  # spin's dots land anywhere
    assert command_output(console, "echo x") == "x\n"
    assert re.search(r"^ +2 +1 runble +\d+ spin$", command_output(console, "ps"), re.M)
    assert "$ echo done\ndone\n" in console


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


# The file system on the virtio disk.  tuivmm.disk.tufs, the host's own TUFS code,
# makes the images and is the independent judge of what the guest wrote.

def diskfs(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "tuivmm.disk", *args], capture_output=True,
                          timeout=60, env=env, cwd=ROOT)  # fmt: skip


def fresh_image(path: Path, **files: bytes) -> Path:
    """A new TUFS image at `path` holding `files` (name -> content)."""
    assert diskfs("create", str(path)).returncode == 0
    for name, content in files.items():
        host = path.parent / (name + ".host")
        host.write_bytes(content)
        assert diskfs("put", str(path), str(host), name).returncode == 0
    return path


def disk_session(image: Path, script: str) -> tuple[int, str]:
    result = tuivmm("bare", "--disk", str(image), str(UNIX), stdin=script.encode(), timeout=120)
    assert result.stderr == b""
    return result.returncode, result.stdout.decode()


def test_without_a_disk_the_kernel_says_so_and_file_commands_fail_politely():
    code, console = session("ls\ncat x\nwrite x y\nrm x\nshutdown\n", flags=("--no-disk",))
    assert code == 0
    assert "unix: no disk\n" in console
    assert command_output(console, "ls") == "ls: no file system\n"
    assert command_output(console, "cat x") == "cat: cannot open x\n"
    assert command_output(console, "write x y") == "write: cannot open x\n"
    assert command_output(console, "rm x") == "rm: cannot remove x\n"


def test_with_no_disk_given_unix_gets_a_fresh_throwaway_disk_and_says_so(tmp_path):
    env = {"TMPDIR": str(tmp_path)}  # where the throwaway disk goes, to see it is gone after
    result = tuivmm("bare", "unix", stdin=b"ls\nwrite f hi\ncat f\nls\nshutdown\n", env=env)
    assert result.returncode == 0
    assert result.stderr == THROWAWAY_NOTICE
    console = result.stdout.decode()
    assert "unix: disk of 2048 blocks, 256 inodes\n" in console
    assert "unix: no disk" not in console
    assert "$ ls\n$ write f hi\n$ cat f\nhi\n$ ls\nf 3\n$ " in console
    assert list(tmp_path.iterdir()) == []


def test_a_missing_disk_file_is_made_fresh_and_keeps_what_the_guest_writes(tmp_path):
    image = tmp_path / "new.img"
    result = tuivmm("bare", "--disk", str(image), "unix", stdin=b"ls\nwrite keep kept\nshutdown\n")
    assert result.returncode == 0
    assert result.stderr.decode() == f"tuivmm: made a fresh empty 2 MiB unix disk (TUFS) at {image}\n"
    assert "unix: disk of 2048 blocks" in result.stdout.decode()
    assert command_output(result.stdout.decode(), "ls") == ""
    assert image.stat().st_size == 2048 * 1024
    check = diskfs("check", str(image))
    assert check.returncode == 0, check.stdout + check.stderr
    assert diskfs("cat", str(image), "keep").stdout == b"kept\n"
    assert [p.name for p in tmp_path.iterdir()] == ["new.img"]  # no temporary file left beside it
    # The second run uses it as it is: no notice, and the file is still there.
    code, console = disk_session(image, "cat keep\nshutdown\n")
    assert code == 0
    assert command_output(console, "cat keep") == "kept\n"


def test_a_missing_read_only_disk_is_a_one_line_error_and_makes_nothing(tmp_path):
    image = tmp_path / "none.img"
    result = tuivmm("bare", "--disk", str(image), "--disk-ro", "unix", stdin=b"shutdown\n")
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode() == f"tuivmm: {image}: no such disk image (with --disk-ro it must exist)\n"
    assert not image.exists()


def test_no_disk_and_disk_together_are_a_usage_error(tmp_path):
    image = tmp_path / "x.img"
    result = tuivmm("bare", "--no-disk", "--disk", str(image), "unix", stdin=b"shutdown\n")
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert err.startswith("usage: tuivmm bare")
    assert err.splitlines()[-1] == "tuivmm bare: error: argument --disk: not allowed with argument --no-disk"
    assert not image.exists()


def test_a_disk_that_is_not_tufs_is_left_alone(tmp_path):
    image = tmp_path / "zeros.img"
    image.write_bytes(bytes(64 * 1024))
    code, console = disk_session(image, "ls\nshutdown\n")
    assert code == 0
    assert "unix: disk is not a TUFS v1 file system\n" in console
    assert command_output(console, "ls") == "ls: no file system\n"
    assert image.read_bytes() == bytes(64 * 1024)


def test_ls_cat_write_and_rm_work_on_a_disk_made_by_the_host(tmp_path):
    image = fresh_image(tmp_path / "disk.img", notes=b"from the host\n")
    code, console = disk_session(
        image, "ls\ncat notes\nwrite new hello there\nls\ncat new\nrm notes\nls\ncat notes\nshutdown\n")
    assert code == 0
    assert "unix: disk of 2048 blocks" in console
    assert command_output(console, "ls") == "notes 14\n"
    assert command_output(console, "cat notes") == "from the host\n"
    assert command_output(console, "write new hello there") == ""
    assert command_output(console, "cat new") == "hello there\n"
    assert console.count("$ ls\nnotes 14\nnew 12\n$ ") == 1
    assert "$ rm notes\n$ ls\nnew 12\n$ cat notes\ncat: cannot open notes\n" in console
    assert diskfs("cat", str(image), "new").stdout == b"hello there\n"
    assert diskfs("ls", str(image)).stdout.decode().split().count("notes") == 0
    check = diskfs("check", str(image))
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_file_written_in_the_guest_survives_a_reboot_and_rewriting_replaces_it(tmp_path):
    image = fresh_image(tmp_path / "disk.img")
    code, _ = disk_session(image, "write keep a much longer first line\nwrite keep second\nshutdown\n")
    assert code == 0
    code, console = disk_session(image, "ls\ncat keep\nshutdown\n")
    assert code == 0
    assert command_output(console, "ls") == "keep 7\n"
    assert command_output(console, "cat keep") == "second\n"
    assert diskfs("cat", str(image), "keep").stdout == b"second\n"
    assert diskfs("check", str(image)).returncode == 0


def test_a_file_past_the_direct_blocks_reads_whole_and_removing_it_frees_every_block(tmp_path):
    big = b"".join(b"line %05d of a file that needs its indirect block\n" % i for i in range(400))
    assert len(big) > 13 * 1024
    image = fresh_image(tmp_path / "disk.img", big=big)
    code, console = disk_session(image, "cat big\nrm big\nls\nshutdown\n")
    assert code == 0
    assert command_output(console, "cat big") == big.decode()
    assert command_output(console, "ls") == ""
    check = diskfs("check", str(image))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "2028 free blocks" in check.stdout.decode()


def test_a_disk_session_prints_and_writes_exactly_what_it_does_on_qemu(tmp_path):
    ours_image = fresh_image(tmp_path / "ours.img", notes=b"from the host\n")
    qemu_image = tmp_path / "qemu.img"
    qemu_image.write_bytes(ours_image.read_bytes())
    script = b"ls\ncat notes\nwrite new hello there\nrm notes\nwrite b x y z\nls\ncat new\nshutdown\n"
    ours = tuivmm("bare", "--disk", str(ours_image), str(UNIX), stdin=script, timeout=120)
    qemu_code, qemu_out = run_qemu(UNIX, stdin=script, disk=qemu_image)
    assert ours.returncode == qemu_code == 0
    assert ours.stdout == qemu_out
    assert ours_image.read_bytes() == qemu_image.read_bytes()


def read_only_session(image: Path, script: bytes) -> str:
    result = tuivmm("bare", "--disk", str(image), "--disk-ro", str(UNIX), stdin=script, timeout=120)
    assert result.returncode == 0 and result.stderr == b""
    return result.stdout.decode()


RO_SCRIPT = b"ls\ncat notes\nwrite f hi\nwrite notes changed\nrm notes\nrm nosuch\nls\ncat notes\nshutdown\n"


def test_a_read_only_disk_is_named_at_boot_reads_as_usual_and_refuses_every_change(tmp_path):
    image = fresh_image(tmp_path / "disk.img", notes=b"from the host\n")
    before = image.read_bytes()
    console = read_only_session(image, RO_SCRIPT)
    assert "unix: disk of 2048 blocks, 256 inodes, read-only\n" in console
    assert command_output(console, "write f hi") == "write: read-only disk\n"
    assert command_output(console, "write notes changed") == "write: read-only disk\n"
    assert command_output(console, "rm notes") == "rm: notes: read-only disk\n"
    assert command_output(console, "rm nosuch") == "rm: cannot remove nosuch\n"
    assert console.count("$ ls\nnotes 14\n$ ") == 2
    assert console.count("$ cat notes\nfrom the host\n$ ") == 2
    assert "panic" not in console
    assert image.read_bytes() == before


def test_a_read_only_disk_session_prints_what_it_prints_on_qemu(tmp_path):
    ours_image = fresh_image(tmp_path / "ours.img", notes=b"from the host\n")
    qemu_image = tmp_path / "qemu.img"
    qemu_image.write_bytes(ours_image.read_bytes())
    qemu_code, qemu_out = run_qemu(UNIX, stdin=RO_SCRIPT, disk=qemu_image, disk_read_only=True)
    assert qemu_code == 0
    assert read_only_session(ours_image, RO_SCRIPT) == qemu_out.decode()
    assert "read-only disk" in qemu_out.decode()


def test_a_full_disk_makes_write_fail_cleanly_and_rm_makes_room(tmp_path):
    image = tmp_path / "small.img"
    assert diskfs("create", str(image), "--size-kib", "64").returncode == 0
    (tmp_path / "big").write_bytes(b"x" * (56 * 1024))      # leaves 2 free blocks
    assert diskfs("put", str(image), str(tmp_path / "big"), "big").returncode == 0
    code, console = disk_session(image, "write a 1\nwrite b 2\nwrite c 3\nrm big\nwrite c 3\nls\nshutdown\n")
    assert code == 0
    assert "$ write c 3\nwrite: c: disk full\n" in console
    assert command_output(console, "ls") == "a 2\nb 2\nc 2\n"
    check = diskfs("check", str(image))
    assert check.returncode == 0, check.stdout + check.stderr


def test_ping_without_a_network_card_says_so_and_boot_prints_no_address():
    code, console = session("ping 10.0.0.2\nping 10.0.0\nshutdown\n")
    assert code == 0
    assert "unix: net" not in console
    assert command_output(console, "ping 10.0.0.2") == "ping: no network card\n"
    assert command_output(console, "ping 10.0.0") == "usage: ping A.B.C.D [COUNT]\n"


def _wire_two_machines():
    """Two boards running unix.elf, their network cards joined by one cable."""
    from machine.board import Board
    from machine.devices.netwire import Wire

    a_end, b_end = Wire.pair()
    boards = []
    for end, last in ((a_end, 1), (b_end, 2)):
        board = Board(net=end, mac=bytes([0x52, 0x54, 0, 0, 0, last]))
        board.load(UNIX)
        boards.append(board)
    return boards


def _step(board) -> str | None:
    """Run a slice of board; when it sleeps in WFI, jump its clock to the next tick.
    The halt kind ("pass", ...) once it has powered off, else None."""
    from machine.clock import NEVER
    from machine.cpu.trap import ExitKind

    exit_ = board.hart.run(200_000)
    if exit_.kind is ExitKind.HALT:
        return exit_.halt
    if exit_.kind is ExitKind.WFI and board.hart.clock.alarm_cycle < NEVER:
        board.hart.skip_to_alarm()
    return None


def test_two_machines_on_a_wire_ping_each_other_by_ip_address():
    """Both machines run in this process, a slice at a time in turn, typed into like
    users: A pings B three times while B's shell sleeps (its kernel answers ARP and
    echo requests from the card's interrupt, its clock tick stopped), then B pings A
    once, then both power off."""
    a, b = _wire_two_machines()
    typed = {id(a): [], id(b): []}
    script = {id(a): ["ping 10.0.0.2 3\n", "shutdown\n"], id(b): ["ping 10.0.0.1 1\n", "shutdown\n"]}
    halted = {}
    started = time.monotonic()
    while len(halted) < 2 and time.monotonic() - started < 60:
        for board in (a, b):
            if id(board) in halted:
                continue
            out = board.output.decode(errors="replace")
            lines = script[id(board)]
            # A's pings run first; B waits for them to finish, answering meanwhile.
            ready = out.count(PROMPT) > len(typed[id(board)])
            if board is b and len(typed[id(b)]) == 0:
                ready = ready and "packets transmitted" in a.output.decode(errors="replace")
            if board is a and len(typed[id(a)]) == 1:
                ready = ready and "packets transmitted" in b.output.decode(errors="replace")
            if ready and lines:
                line = lines.pop(0)
                typed[id(board)].append(line)
                board.uart.feed(line.encode())
            halt = _step(board)
            if halt:
                halted[id(board)] = halt
    console_a, console_b = a.output.decode(), b.output.decode()
    assert "unix: net 10.0.0.1 mac 52:54:00:00:00:01\n" in console_a
    assert "unix: net 10.0.0.2 mac 52:54:00:00:00:02\n" in console_b
    for seq in (1, 2, 3):
        assert f"64 bytes from 10.0.0.2: icmp_seq={seq}\n" in console_a
    assert "3 packets transmitted, 3 received\n" in console_a
    assert "64 bytes from 10.0.0.1: icmp_seq=1\n" in console_b   # B answers back
    assert "1 packets transmitted, 1 received\n" in console_b
    assert halted == {id(a): "pass", id(b): "pass"}, (console_a, console_b)


def test_ping_with_no_one_at_the_far_end_times_out_and_counts_the_loss():
    from machine.board import Board
    from machine.devices.netwire import Wire

    near, _far = Wire.pair()                # nothing plugged in at the far end
    board = Board(net=near, mac=bytes.fromhex("525400000001"))
    board.load(UNIX)
    lines, typed, halt = ["ping 10.0.0.2 2\n", "shutdown\n"], 0, None
    started = time.monotonic()
    while halt is None and time.monotonic() - started < 30:
        if lines and board.output.decode(errors="replace").count(PROMPT) > typed:
            board.uart.feed(lines.pop(0).encode())
            typed += 1
        halt = _step(board)
    console = board.output.decode()
    assert halt == "pass", console
    assert command_output(console, "ping 10.0.0.2 2") == (
        "no reply from 10.0.0.2: icmp_seq=1\n"
        "no reply from 10.0.0.2: icmp_seq=2\n"
        "2 packets transmitted, 0 received\n"
    )
