"""Record and replay (`tuivmm run --record FILE`, `--replay FILE`): a replay prints
the same consoles and writes the same trap log as the session it was recorded from,
and refuses logs and images it cannot trust.

The issue's proof runs `tuivmm run` as a user does (two `unix` guests on the virtual
switch, typed commands, a ping); the other tests drive `HeadlessRun` directly with
two tiny assembly guests and a scripted stdin, which is much faster and lets the
script type exactly when the guest is idle or held."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from test_cli import tuivmm
from test_run_cli import by_guest, one_line_error

from machine.cpu.asm import assemble
from tuivmm.cli.headless import GuestPlan, HeadlessRun, Settings
from tuivmm.cli.terminal import QuitRequested
from tuivmm.tools.record import (
    GuestSetup,
    Recorder,
    Recording,
    Replayer,
    SessionSetup,
    file_sha256,
)
from tuivmm.vmm import GuestState

# Echoes what it receives; 'q' powers it off.  Asleep in WFI with no timer armed
# while it waits, so the VMM makes it idle, and only console input wakes it.
ECHO = """
_start: li t0, 0x10000000
        li t1, 1
        sb t1, 1(t0)          # UART: interrupt on received data
        li t1, 0x0c000028     # PLIC: priority of IRQ 10
        li t2, 1
        sw t2, 0(t1)
        li t1, 0x0c002000     # PLIC: enable IRQ 10 for the M-mode context
        li t2, 0x400
        sw t2, 0(t1)
        li t1, 0x800          # mie.MEIE: the interrupt ends WFI (mstatus.MIE stays off)
        csrw mie, t1
        li t3, 0x0c200004     # PLIC: claim/complete for the M-mode context
wait:   wfi
        lw t4, 0(t3)          # claim (0 if nothing is pending)
        lbu t1, 5(t0)         # LSR: data ready?
        andi t1, t1, 1
        beqz t1, done
        lbu t1, 0(t0)
        sb t1, 0(t0)          # echo it
        li t2, 0x71           # 'q'
        beq t1, t2, off
done:   beqz t4, wait
        sw t4, 0(t3)          # complete, now that the UART's line is low again
        j wait
off:    li t0, 0x100000
        li t1, 0x5555
        sw t1, 0(t0)
"""

# Never waits: a dot every few thousand instructions, a line of 16, until --max-insns.
TICKER = """
_start: li s0, 0x10000000
        li s1, 0
loop:   li t0, 1500
1:      addi t0, t0, -1
        bnez t0, 1b
        li t1, 0x2e
        sb t1, 0(s0)
        addi s1, s1, 1
        andi t2, s1, 15
        bnez t2, loop
        li t1, 10
        sb t1, 0(s0)
        j loop
"""

MAX_INSNS = 200_000


class ScriptedStdin:
    """Stands in for `tuivmm.cli.terminal.StdinInput`: hands out `chunks` one per poll, each
    only once `ready()` says so (polled, as the real reader polls stdin), then ends
    (or, with `quit`, raises Ctrl-A x once `ready()` says so)."""

    def __init__(self, chunks: list[bytes], *, interactive: bool, quit: bool = False):
        self.chunks = list(chunks)
        self.interactive = interactive
        self.quit = quit
        self.ready = lambda: True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def poll(self, timeout):
        if not self.chunks and not self.quit:
            return None
        if not self.ready():
            time.sleep(0.001)  # as the real reader's select() would wait for a key
            return b""
        if not self.chunks:
            raise QuitRequested()
        return self.chunks.pop(0)


def sources(tmp_path: Path) -> list[Path]:
    paths = []
    for name, text in (("echo", ECHO), ("ticker", TICKER)):
        path = tmp_path / f"{name}.S"
        path.write_text(text)
        paths.append(path)
    return paths


def plans_of(paths: list[Path]) -> list[GuestPlan]:
    return [GuestPlan(p.stem, str(p), 1, None, "none", assemble(p.read_text())) for p in paths]


def record(tmp_path: Path, stdin: ScriptedStdin, *, ready=None, log: str = "session.rec",
           trace: str = "recorded.log", max_insns: int | None = MAX_INSNS) -> tuple[int, HeadlessRun]:  # fmt: skip
    """Run the echo and ticker guests with `stdin`, recording to tmp_path/log."""
    paths = sources(tmp_path)
    setup = SessionSetup([GuestSetup(p.stem, str(p), None, file_sha256(p), 1, "none", "none") for p in paths],
                         net=False, max_insns=max_insns)  # fmt: skip
    settings = Settings(max_insns=max_insns, net=False, trace_exits=str(tmp_path / trace))
    with Recorder(tmp_path / log, setup, [None, None]) as recorder:
        run = HeadlessRun(plans_of(paths), settings, stdin=stdin, stdout=io.BytesIO(), stderr=io.StringIO(),
                          recorder=recorder)  # fmt: skip
        if ready is not None:
            stdin.ready = lambda: ready(run)
        return run.run(), run


def replay(tmp_path: Path, log: str = "session.rec", trace: str = "replayed.log") -> tuple[int, HeadlessRun]:
    """Replay tmp_path/log as `tuivmm run --replay` does (the images are the .S files)."""
    with Recording.load(tmp_path / log) as recording:
        recording.check_images()
        setup = recording.setup
        plans = plans_of([Path(g.image) for g in setup.guests])
        settings = Settings(max_insns=setup.max_insns, net=setup.net, trace_exits=str(tmp_path / trace))
        run = HeadlessRun(plans, settings, stdin=None, stdout=io.BytesIO(), stderr=io.StringIO(),
                          replayer=Replayer(recording))  # fmt: skip
        return run.run(), run


def events(tmp_path: Path, log: str = "session.rec") -> dict:
    with zipfile.ZipFile(tmp_path / log) as zf:
        return json.loads(zf.read("events.json"))


def assert_same_session(tmp_path: Path, recorded: HeadlessRun, replayed: HeadlessRun) -> None:
    for a, b in zip(recorded.guests, replayed.guests, strict=True):
        assert (a.name, bytes(a.output), a.instructions, a.vcpu.cycles) == (b.name, bytes(b.output),
                                                                            b.instructions, b.vcpu.cycles)  # fmt: skip
    assert (tmp_path / "recorded.log").read_bytes() == (tmp_path / "replayed.log").read_bytes()


# --- the proof, as a user runs it -------------------------------------------------------


def test_a_recorded_session_of_two_unix_guests_with_a_ping_replays_with_the_same_output_and_traps(tmp_path):
    log, first, again = tmp_path / "session.rec", tmp_path / "first.log", tmp_path / "again.log"
    script = b"echo hi\nping 10.0.0.2 2\nshutdown\n"
    recorded = tuivmm("run", "unix", "unix", "--max-insns", "1200000", "--record", str(log),
                      "--trace-exits", str(first), stdin=script)  # fmt: skip
    # unix powered off; unix-2 waits at its prompt with its clock tick stopped: the input
    # has ended, and the run with it.
    assert recorded.returncode == 0, recorded.stderr
    console = by_guest(recorded.stdout)["unix"].decode()
    assert "$ echo hi\nhi\n" in console
    assert "64 bytes from 10.0.0.2: icmp_seq=2\n2 packets transmitted, 2 received\n" in console
    # Whatever comes on stdin now is not read: the input is the log's.
    replayed = tuivmm("run", "--replay", str(log), "--trace-exits", str(again), stdin=b"uptime\n")
    assert replayed.returncode == 0
    assert replayed.stdout == recorded.stdout
    assert again.read_bytes() == first.read_bytes()
    assert one_line_error(replayed) == "tuivmm: the input has ended, and unix-2 waits for more; stopping"


# --- the schedule does not depend on how fast the input comes -------------------------------------


def test_a_script_that_comes_slowly_and_in_pieces_gives_the_same_traps_as_one_that_comes_at_once(tmp_path):
    """While the first guest waits for a line, every guest waits (the ticker does not
    run ahead), and half a line is kept until its end comes."""
    fast_status, fast = record(tmp_path, ScriptedStdin([b"ab\ncd\nq\n"], interactive=False),
                               log="fast.rec", trace="fast.log")  # fmt: skip
    slow = ScriptedStdin([b"a", b"b\nc", b"d\n", b"q", b"\n"], interactive=False)
    slow_status, slow_run = record(tmp_path, slow, ready=lambda run: run.held, log="slow.rec", trace="slow.log")
    assert fast_status == slow_status == 124  # echo powered off; the ticker ran into --max-insns
    assert bytes(fast.guests[0].output) == bytes(slow_run.guests[0].output) == b"ab\ncd\nq"
    assert (tmp_path / "fast.log").read_bytes() == (tmp_path / "slow.log").read_bytes()
    fed = [e["data"] for e in events(tmp_path, "slow.rec")["events"] if "feed" in e]
    assert fed == ["ab\n", "cd\n", "q\n"]
    assert events(tmp_path, "slow.rec")["events"] == events(tmp_path, "fast.rec")["events"]


# --- what the replay plays back -------------------------------------------------------------------


def test_a_piped_session_replays_each_line_at_the_moment_it_was_fed(tmp_path):
    status, recorded = record(tmp_path, ScriptedStdin([b"hello\n", b"q\n"], interactive=False))
    feeds = [e for e in events(tmp_path)["events"] if "feed" in e]
    assert [e["data"] for e in feeds] == ["hello\n", "q\n"]
    assert all(e["feed"] == "echo" and e["icount"] > 0 for e in feeds)
    replayed_status, replayed = replay(tmp_path)
    assert status == replayed_status == 124
    assert_same_session(tmp_path, recorded, replayed)


def idle_and_echoed(keys: ScriptedStdin, typed: int):
    """ready(): the echo guest has echoed every key so far and is idle again."""
    return lambda run: run.guests[0].state is GuestState.IDLE and len(run.guests[0].output) == typed - len(keys.chunks)


def test_keys_that_wake_an_idle_guest_wake_it_at_the_same_place_in_the_schedule(tmp_path):
    """Typed keys reach an idle guest at wall-clock moments, while the ticker runs on:
    the log keeps the slice after which each woke it, and the replay wakes it there."""
    keys = ScriptedStdin([b"h", b"i", b"q"], interactive=True)
    status, recorded = record(tmp_path, keys, ready=idle_and_echoed(keys, 3))
    assert bytes(recorded.guests[0].output) == b"hiq"
    wakes = [e for e in events(tmp_path)["events"] if "wake" in e]
    assert [e["wake"] for e in wakes] == ["echo"] * 3
    replayed_status, replayed = replay(tmp_path)
    assert status == replayed_status == 124
    assert_same_session(tmp_path, recorded, replayed)


def test_ctrl_a_x_ends_the_replay_where_it_ended_the_recording(tmp_path):
    keys = ScriptedStdin([b"x", b"y"], interactive=True, quit=True)
    # No --max-insns: the ticker runs until the quit.
    status, recorded = record(tmp_path, keys, ready=idle_and_echoed(keys, 2), max_insns=None)
    assert status == 130 and events(tmp_path)["end"]["quit_at"] > 0
    assert bytes(recorded.guests[0].output) == b"xy"
    replayed_status, replayed = replay(tmp_path)
    assert replayed_status == 130
    assert "tuivmm: quit (Ctrl-A x)" in replayed.stderr.getvalue()
    assert_same_session(tmp_path, recorded, replayed)


def test_a_replay_that_does_not_meet_its_recording_says_where_and_exits_5(tmp_path):
    record(tmp_path, ScriptedStdin([b"hello\n", b"q\n"], interactive=False))
    rewrite(tmp_path / "session.rec", "events.json",
            lambda text: text.replace('"data": "hello\\n"', '"data": "help\\n"'), keep_sums=False)
    status, replayed = replay(tmp_path)
    assert status == 5
    assert ("tuivmm: the replay went differently from the recording: echo never reached the moment of recorded "
            "input 'q\\n' (pass ") in replayed.stderr.getvalue()  # fmt: skip


# --- disks -------------------------------------------------------------------------------------------


def test_a_disk_file_the_session_changed_replays_from_its_first_contents_and_is_left_alone(tmp_path):
    disk, log = tmp_path / "unix.img", tmp_path / "session.rec"
    script = b"write notes hello\ncat notes\nshutdown\n"
    recorded = tuivmm("run", "--no-net", "unix", "--disk", str(disk), "--record", str(log), stdin=script)
    assert recorded.returncode == 0, recorded.stderr
    assert "$ cat notes\nhello\n" in by_guest(recorded.stdout)["unix"].decode()
    after = disk.read_bytes()
    with zipfile.ZipFile(log) as zf:
        first = zf.read("disk-0.img")
    assert first != after  # the log kept the disk as it was before the session wrote to it
    replayed = tuivmm("run", "--replay", str(log))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == recorded.stdout
    assert disk.read_bytes() == after


# --- logs and images it cannot trust ------------------------------------------------------------------


def rewrite(log: Path, member: str, change, *, keep_sums: bool = True) -> None:
    """Rewrite one member of a log; its SHA256SUMS line too unless `keep_sums`."""
    with zipfile.ZipFile(log) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    parts[member] = change(parts[member].decode()).encode()
    if not keep_sums:
        import hashlib

        parts["SHA256SUMS"] = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                                      for name, data in parts.items() if name != "SHA256SUMS").encode()  # fmt: skip
    with zipfile.ZipFile(log, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def truncate(log: Path) -> None:
    log.write_bytes(log.read_bytes()[: log.stat().st_size // 2])


def flip_a_byte(log: Path) -> None:
    data = bytearray(log.read_bytes())
    with zipfile.ZipFile(log) as zf:
        info = zf.getinfo("events.json")
    data[info.header_offset + 30 + len(info.filename) + 10] ^= 0xFF  # inside its compressed data
    log.write_bytes(bytes(data))


DAMAGE = {
    "truncated": (truncate, "not a tuivmm recording, or a truncated one"),
    "corrupt": (flip_a_byte, "a corrupt recording"),
    "edited": (lambda log: rewrite(log, "events.json", lambda t: t.replace("hello", "HELLO")),
               "a corrupt recording (events.json: SHA-256 does not match)"),
    "newer": (lambda log: rewrite(log, "header.json", lambda t: t.replace('"version": 1', '"version": 2'),
                                  keep_sums=False),
              "a recording of format version 2; this tuivmm (0.1.0) replays version 1"),
    "not a log": (lambda log: log.write_text("hello\n"), "not a tuivmm recording, or a truncated one"),
}  # fmt: skip


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_replay_refuses_a_damaged_log_with_one_line_and_status_2(tmp_path, damage):
    record(tmp_path, ScriptedStdin([b"hello\n", b"q\n"], interactive=False))
    log = tmp_path / "session.rec"
    spoil, message = DAMAGE[damage]
    spoil(log)
    result = tuivmm("run", "--replay", str(log))
    assert result.returncode == 2
    assert one_line_error(result).startswith(f"tuivmm: {log}: {message}")


def test_replay_refuses_an_image_that_changed_since_the_recording(tmp_path):
    record(tmp_path, ScriptedStdin([b"q\n"], interactive=False))
    (tmp_path / "ticker.S").write_text(TICKER.replace("1500", "1400"))
    result = tuivmm("run", "--replay", str(tmp_path / "session.rec"))
    assert result.returncode == 2
    assert one_line_error(result) == (
        f"tuivmm: {tmp_path / 'session.rec'}: guest ticker's image {tmp_path / 'ticker.S'} has changed since the "
        "recording (its SHA-256 differs); replay needs the image it was recorded with")


def test_a_missing_log_and_options_that_do_not_go_with_replay_or_record_are_one_line_errors(tmp_path):
    missing = tuivmm("run", "--replay", str(tmp_path / "nothing.rec"))
    assert missing.returncode == 2
    assert one_line_error(missing) == f"tuivmm: {tmp_path / 'nothing.rec'}: no such file"
    with_guest = tuivmm("run", "hello", "--replay", str(tmp_path / "nothing.rec"))
    assert with_guest.returncode == 2
    assert one_line_error(with_guest) == ("tuivmm: --replay takes the guests and their settings from its log; "
                                          "GUEST cannot be given with it")  # fmt: skip
    with_gdb = tuivmm("run", "hello", "--gdb", "0", "--record", str(tmp_path / "x.rec"))
    assert with_gdb.returncode == 2
    assert one_line_error(with_gdb).startswith("tuivmm: --record cannot be used with --gdb")
    nowhere = tuivmm("run", "hello", "--record", str(tmp_path / "no" / "such" / "dir.rec"))
    assert nowhere.returncode == 2
    assert one_line_error(nowhere) == f"tuivmm: --record {tmp_path / 'no/such/dir.rec'}: no such directory " \
                                      f"{tmp_path / 'no/such'}"  # fmt: skip
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


def test_a_log_is_written_aside_and_renamed_so_a_failed_run_leaves_none(tmp_path):
    paths = sources(tmp_path)
    setup = SessionSetup([GuestSetup(p.stem, str(p), None, file_sha256(p), 1, "none", "none") for p in paths])
    with pytest.raises(RuntimeError), Recorder(tmp_path / "session.rec", setup, [None, None]):
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".session.rec.")]  # the log, aside
        raise RuntimeError("the run failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["echo.S", "ticker.S"]
