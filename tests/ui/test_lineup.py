"""Lineup files (TOML) for `tuivmm dash --config`: the README's example, every key, and mistakes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tuivmm.lineup.file import GuestSpec, LineupError, load_lineup
from tuivmm.ui.session import Session
from tuivmm.vmm import GuestState
from tuivmm.vmm.monitor import LIMIT_REASON

ROOT = Path(__file__).resolve().parents[2]


def readme_lineup() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"```toml\n(# lineup\.toml.*?)```", text, re.S)
    assert found, "the README shows a lineup file"
    return found.group(1)


def test_the_readme_lineup_runs_as_its_comments_say(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lineup.toml").write_text(readme_lineup())
    lineup = load_lineup(tmp_path / "lineup.toml")
    assert lineup.flawed_eret
    session = Session(lineup, realtime=False)
    try:
        assert session.errors == []
        assert [g.name for g in session.guests] == ["unix", "naive", "translated", "eret-escape-pv"]
        session.vmm.run(max_rounds=400)
        last = {g.name: bytes(g.output).decode().rstrip().splitlines()[-1] for g in session.guests}
        assert last["naive"].startswith("ERET-ESCAPE: ESCAPED")
        assert last["translated"] == last["eret-escape-pv"] == "ERET-ESCAPE: PROTECTED"
        unix = session.guest("unix")
        # No panic, on flawed hardware: asleep at its prompt, its clock tick stopped.
        assert unix.state is GuestState.IDLE and last["unix"] == "$"
        assert unix.vmm.guests[3].window.size == 16 << 20
    finally:
        session.close()
    assert (tmp_path / "unix.img").stat().st_size == 2 << 20  # its disk was made, and kept


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[guest]]\nimage = 'unix'\nram = 64\n", "ram"),
        ("[[guest]]\nimage = 'unix'\nram_mib = 1025\n", "ram_mib must be a whole number of MiB from 1 to 1024"),
        ("[[guest]]\nname = 'x'\n", "image"),
        ("[[guest]]\nimage = 'unix'\nremedy = 'magic'\n", "remedy must be one of"),
        ("[[guest]]\nimage = 'linux'\nsbi = 'opensbi'\n", "sbi must be one of firmware, vmm"),
        ("flawed_eret = 'yes'\n", "flawed_eret"),
        ("[[guest\n", "TOML"),
    ],
)
def test_a_wrong_lineup_file_says_what_is_wrong(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(LineupError, match=message):
        load_lineup(tmp_path / "bad.toml")


def test_every_key_of_a_guest_table_reads_into_its_guest_spec(tmp_path):
    (tmp_path / "all.toml").write_text('[[guest]]\nimage = "hello"\nname = "box"\nram_mib = 16\ndisk = "b.img"\n'
                                       'remedy = "bt"\nnet = false\nmax_insns = 5000\ngdb = 0\n'
                                       '[[guest]]\nimage = "unix"\n[[guest]]\nimage = "linux"\nsbi = "vmm"\n')  # fmt: skip
    lineup = load_lineup(tmp_path / "all.toml")
    assert lineup.guests == [GuestSpec("hello", name="box", ram_mib=16, disk="b.img", remedy="bt", net=False,
                                       max_insns=5000, gdb_port=0), GuestSpec("unix"),
                             GuestSpec("linux", sbi="vmm")]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_insns = 0", "guest 1: max_insns must be a positive whole number"),
        ("max_insns = '9'", "guest 1: max_insns must be a positive whole number"),
        ("gdb = 70000", "guest 1: gdb must be a TCP port, 0 to 65535"),
        ("gdb = true", "guest 1: gdb must be a TCP port"),
        ("name = 'a b'", "guest 1: name must be 1 to 16 letters, digits, '.', '-' or '_'"),
        ("ram_mib = 1025", "guest 1: ram_mib must be a whole number of MiB from 1 to 1024"),
    ],
)
def test_the_keys_are_checked_by_the_rules_of_the_command_line(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(f"[[guest]]\nimage = 'hello'\n{text}\n")
    with pytest.raises(LineupError, match=re.escape(message)):
        load_lineup(tmp_path / "bad.toml")


def test_a_lineup_guest_may_be_an_assembly_file_and_may_be_stopped_after_max_insns(tmp_path):
    (tmp_path / "tiny.S").write_text(TINY)
    (tmp_path / "lineup.toml").write_text(f'[[guest]]\nimage = "{tmp_path / "tiny.S"}"\nram_mib = 1\n'
                                          '[[guest]]\nimage = "compute"\nmax_insns = 1000\n')  # fmt: skip
    session = Session(load_lineup(tmp_path / "lineup.toml"), realtime=False)
    try:
        assert session.errors == []
        session.vmm.run(max_rounds=200)
        tiny, compute = session.guest("tiny"), session.guest("compute")
        assert bytes(tiny.output) == b"tiny\n" and tiny.state is GuestState.HALTED
        assert tiny.window.size == 1 << 20
        assert compute.state is GuestState.STOPPED and compute.reason == LIMIT_REASON
        assert compute.retired_total == 1000
    finally:
        session.close()


TINY = """
_start:
    li t0, 0x10000000
    li t1, 't'
    sb t1, 0(t0)
    li t1, 'i'
    sb t1, 0(t0)
    li t1, 'n'
    sb t1, 0(t0)
    li t1, 'y'
    sb t1, 0(t0)
    li t1, 10
    sb t1, 0(t0)
    li t0, 0x100000
    li t1, 0x5555
    sw t1, 0(t0)
"""


def test_the_shipped_linux_lineup_runs_two_linux_guests_beside_unix_and_basic():
    """`tuivmm dash --config linux`: linux, unix, linux-2 and basic on one switch; each
    Linux guest gets a throwaway ext2 disk, and starts in its firmware (virtual M-mode),
    whose SBI calls from the kernel the trap log names."""
    from tuivmm.lineup.file import shipped_lineups

    assert "linux" in shipped_lineups()
    lineup = load_lineup("linux")
    assert [spec.image for spec in lineup.guests] == ["linux", "unix", "linux", "basic"]
    session = Session(lineup, realtime=False)
    try:
        assert [g.name for g in session.guests] == ["linux", "unix", "linux-2", "basic"]
        assert [g.port is not None for g in session.guests] == [True] * 4
        disks = {name: disk.path for name, disk in session._disks.items()}
        assert sorted(name for name, path in disks.items() if path) == ["linux", "linux-2", "unix"]
        assert any("linux, unix, linux-2 have no --disk" in notice for notice in session.notices), session.notices
        for name in ("linux", "linux-2"):
            assert Path(disks[name]).read_bytes()[1080:1082] == b"\x53\xef"  # ext2's magic
        linux = session.guest("linux")
        for _ in range(3_000):
            if any(e.detail.startswith("sbi ") for e in linux.log.events):
                break
            session.vmm.run_round()
        assert [g.state.finished for g in session.guests] == [False] * 4
        calls = [e.detail for e in linux.log.events if e.detail.startswith("sbi ")]
        assert calls and calls[0] in ("sbi get_spec_version", "sbi console_putchar"), calls
    finally:
        session.close()
