"""`tuivmm dash`'s command line: its GUESTs (assembly files too) and the per-guest
options it shares with `tuivmm run`, each reaching the guest it names.  The guests
are set up as the command sets them up (`lineup_for`), then run on a Session (the
dashboard's model), or in the app itself where the event loop matters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuivmm.cli.commands import build_parser
from tuivmm.cli.dash import lineup_for
from tuivmm.lineup.file import lineup_from_names
from tuivmm.lineup.spec import SpecError
from tuivmm.ui.app import TuivmmApp
from tuivmm.ui.session import Session
from tuivmm.vmm import GuestState
from tuivmm.vmm.monitor import LIMIT_REASON

ROOT = Path(__file__).resolve().parents[2]
SIZE = (160, 50)
HELLO_S = """
_start:
    li t0, 0x10000000
    la t1, msg
1:  lbu t2, 0(t1)
    beqz t2, 2f
    sb t2, 0(t0)
    addi t1, t1, 1
    j 1b
2:  li t0, 0x100000
    li t1, 0x5555
    sw t1, 0(t0)
msg: .asciz "hello from RV32\\n"
"""


def dash(*argv: str, realtime: bool = False) -> Session:
    """The Session `tuivmm dash ARGV` starts the dashboard with."""
    lineup, problems = lineup_for(build_parser().parse_args(["dash", *argv]))
    assert problems == []
    session = Session(lineup, realtime=realtime)
    assert session.errors == []
    return session


def last_lines(session: Session) -> dict[str, str]:
    return {g.name: bytes(g.output).decode().rstrip().splitlines()[-1] for g in session.guests}


async def wait_for(pilot, condition, what: str, rounds: int = 1200) -> None:
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.mark.asyncio
async def test_an_assembly_guest_runs_in_the_dashboard(tmp_path):
    (tmp_path / "hello.S").write_text(HELLO_S)
    session = dash(str(tmp_path / "hello.S"), "basic", realtime=True)
    app = TuivmmApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            hello = session.guest("hello")
            await wait_for(pilot, lambda: hello.state is GuestState.HALTED, "hello to power off")
            assert session.terminals["hello"].text() == "hello from RV32"
            assert app.selected == "hello"
    finally:
        session.close()


def test_ram_for_one_guest_by_name():
    session = dash("--ram", "unix=64", "--no-disk", "unix", "hello")
    try:
        assert [(g.name, g.window.size >> 20) for g in session.guests] == [("unix", 64), ("hello", 128)]
    finally:
        session.close()


def test_a_remedy_by_name_and_a_remedy_for_every_guest():
    session = dash("--flawed-eret", "--remedy", "eret-escape=bt", "eret-escape", "eret-escape")
    try:
        session.vmm.run(max_rounds=400)
        last = last_lines(session)
        assert last["eret-escape"] == "ERET-ESCAPE: PROTECTED"
        assert last["eret-escape-2"].startswith("ERET-ESCAPE: ESCAPED")
    finally:
        session.close()
    session = dash("--flawed-eret", "--remedy", "bt", "eret-escape", "eret-escape")  # as dash always took it
    try:
        session.vmm.run(max_rounds=400)
        assert set(last_lines(session).values()) == {"ERET-ESCAPE: PROTECTED"}
    finally:
        session.close()


def test_max_insns_stops_a_guest_there():
    session = dash("--max-insns", "1000", "compute", "hello")
    try:
        session.vmm.run(max_rounds=400)
        compute, hello = session.guest("compute"), session.guest("hello")
        assert compute.state is GuestState.STOPPED and compute.reason == LIMIT_REASON
        assert compute.retired_total == 1000
        assert hello.state is GuestState.HALTED  # hello powers off in fewer
    finally:
        session.close()


def test_no_net_and_no_disk_and_a_disk_by_name(tmp_path):
    session = dash("--no-net", "--no-disk", "unix")
    try:
        unix = session.guest("unix")
        assert unix.port is None and unix.board.blk is None
    finally:
        session.close()
    session = dash("--disk", f"unix-2={tmp_path / 'two.img'}", "unix", "unix")
    try:
        assert session.guest("unix").port is not None
        assert session.guest("unix-2").board.blk is not None
        assert (tmp_path / "two.img").stat().st_size == 2 << 20
    finally:
        session.close()


def test_restore_adds_the_saved_guest_first_with_its_console(tmp_path):
    first = Session(lineup_from_names(["basic"]), realtime=False)
    try:
        first.vmm.run(max_rounds=100)
        saved = first.terminals["basic"].text()
        assert saved.endswith("READY.")
        assert first.save("basic", str(tmp_path / "basic.snap"))
    finally:
        first.close()
    session = dash("--restore", str(tmp_path / "basic.snap"), "hello")
    try:
        assert [g.name for g in session.guests] == ["basic", "hello"]
        assert session.terminals["basic"].text() == saved
    finally:
        session.close()
    with pytest.raises(SpecError, match="basic is restored from a snapshot and keeps its own"):
        dash("--restore", str(tmp_path / "basic.snap"), "--ram", "basic=64")


@pytest.mark.asyncio
async def test_gdb_holds_the_guest_in_the_debugger_from_its_first_instruction():
    session = dash("--gdb", "0", "hello", "basic", realtime=True)
    app = TuivmmApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            hello, basic = session.guest("hello"), session.guest("basic")
            await wait_for(pilot, lambda: "hello" in session.debuggers, "the gdb stub")
            assert hello.state is GuestState.DEBUG
            await wait_for(pilot, lambda: "READY." in session.terminals["basic"].text(), "basic to boot meanwhile")
            assert basic.instructions > 0
            assert hello.retired_total == 0  # held before its first instruction
            port = session.debuggers["hello"].port
            assert f"hello is stopped; attach gdb: target remote 127.0.0.1:{port}" in session.notices
    finally:
        session.close()


def test_a_lineup_files_guests_keep_theirs_unless_an_option_names_them(tmp_path):
    (tmp_path / "l.toml").write_text('[[guest]]\nimage = "hello"\nname = "box"\nram_mib = 64\n'
                                     '[[guest]]\nimage = "hello"\nname = "b2"\n')  # fmt: skip
    session = dash("--config", str(tmp_path / "l.toml"), "--ram", "32", "--ram", "box=16", "hello")
    try:
        assert [(g.name, g.window.size >> 20) for g in session.guests] == [("box", 16), ("b2", 128), ("hello", 32)]
    finally:
        session.close()


# --- the command line, as a user runs it --------------------------------------------------------------


def tuivmm(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "tuivmm", *args], capture_output=True, text=True, timeout=60,
                          env=env, cwd=ROOT, check=False)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["uinx"], "uinx: no such file or packaged guest; did you mean unix? (`tuivmm guests` lists them)"),
        (["--ram", "uinx=64", "unix"], "--ram uinx=...: no guest named uinx here (unix); did you mean unix?"),
        (["--disk", "x.img", "unix", "hello"], "--disk needs NAME=FILE when there is more than one guest"),
        (["--gdb", "1234", "--gdb", "hello-2=1234", "hello", "hello"], "--gdb: each guest needs a port of its own"),
    ],
)
def test_bad_guests_and_options_are_one_line_and_status_2(args, error):
    result = tuivmm("dash", *args)
    assert (result.returncode, result.stderr) == (2, f"tuivmm: {error}\n")


def test_a_bad_value_is_a_usage_error():
    result = tuivmm("dash", "--ram", "hello=2000", "hello")
    assert result.returncode == 2
    assert "argument --ram: must be a whole number of MiB from 1 to 1024: '2000'" in result.stderr


def test_help_documents_the_options_as_run_does():
    dash_help, run_help = tuivmm("dash", "--help").stdout, tuivmm("run", "--help").stdout
    for option in ("--ram [NAME=]MIB", "--disk NAME=FILE", "--no-disk", "--no-net", "--max-insns N",
                   "--remedy [NAME=]{none,bt,pv,hw}", "--gdb [NAME=]PORT", "--restore FILE"):  # fmt: skip
        assert option in dash_help and option in run_help
    assert "F9 adds a guest (IMAGE [--name NAME] [--ram MIB]" in " ".join(dash_help.split())
