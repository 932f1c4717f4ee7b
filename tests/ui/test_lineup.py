"""Lineup files (TOML) for `tuivmm dash --config`: the README's example, and mistakes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tuivmm.lineup.file import LineupError, load_lineup
from tuivmm.ui.session import Session
from tuivmm.vmm import GuestState

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
        ("flawed_eret = 'yes'\n", "flawed_eret"),
        ("[[guest\n", "TOML"),
    ],
)
def test_a_wrong_lineup_file_says_what_is_wrong(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(LineupError, match=message):
        load_lineup(tmp_path / "bad.toml")
