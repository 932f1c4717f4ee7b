"""Comparing runs in the dashboard: Alt+Z zeroes a guest's counters while it runs on,
the guest list shows eret-escape's verdict (not "pass"), and Alt+L puts every guest's
exits side by side, as the gotcha lineup (tuivmm dash --config gotcha) is meant to
be read.  Guests run only when a test runs their slices (virtual time)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Static

from tests.ui.test_everyday import at_prompt, run_app, session_of, settle, typed
from tuivmm.lineup.file import GuestSpec, Lineup, load_lineup, shipped_lineups
from tuivmm.ui.compare import CompareScreen, comparison
from tuivmm.ui.session import Session
from tuivmm.ui.traps import TrapLines
from tuivmm.vmm import GuestState
from tuivmm.vmm import traplog as T

GOTCHA = {"naive": ("none", "ESCAPED"), "translated": ("bt", "PROTECTED"), "assisted": ("hw", "PROTECTED"),
          "paravirtual": ("pv", "PROTECTED")}  # fmt: skip


def run_to_the_end(session: Session, rounds: int = 2000) -> None:
    """Every guest run until it has halted (eret-escape takes a few thousand exits)."""
    session.vmm.run(max_rounds=rounds)
    assert all(g.state is GuestState.HALTED for g in session.guests), [(g.name, g.state) for g in session.guests]


def gotcha_session() -> Session:
    return Session(load_lineup("gotcha"), realtime=False)


def shown_table(screen: CompareScreen) -> dict[str, list[str]]:
    """The comparison as drawn: each row's label and its cells, read off the table's text."""
    table = screen.query_one("#compare-table", Static).content
    console = Console(width=300, file=io.StringIO(), color_system=None)
    console.print(table)
    lines = console.file.getvalue().splitlines()
    names = lines[0].split()
    rows = {"guest": names}
    for line in lines[2:]:
        cells = line.split()
        if len(cells) > len(names):  # a label of one or more words, then a cell per guest
            rows[" ".join(cells[: -len(names)])] = cells[-len(names) :]
    return rows


# --- the shipped lineup ----------------------------------------------------------------------


def test_the_gotcha_lineup_ships_with_tuivmm_and_runs_it_four_ways_on_the_flawed_machine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # found by name from anywhere
    assert "gotcha" in shipped_lineups()
    lineup = load_lineup("gotcha")
    assert lineup.flawed_eret
    assert [(g.name, g.image, g.remedy) for g in lineup.guests] == [
        ("naive", "eret-escape", "none"), ("translated", "eret-escape", "bt"), ("assisted", "eret-escape", "hw"),
        ("paravirtual", "eret-escape-pv", "pv")]  # fmt: skip
    # A file of that name where the user is wins, as for packaged guests.
    (tmp_path / "gotcha").write_text('[[guest]]\nimage = "hello"\n')
    assert [g.image for g in load_lineup("gotcha").guests] == ["hello"]


# --- Alt+Z ---------------------------------------------------------------------------------------


def test_alt_z_zeroes_the_selected_guest_s_counters_and_it_runs_on():
    session = session_of("unix", "basic")

    async def body(pilot, app):
        at_prompt(session, "unix")
        unix, basic = session.guest("unix"), session.guest("basic")
        session.vmm.run_slice(basic)
        await settle(pilot, app)
        before = (unix.vcpu.cycles, unix.instructions, bytes(unix.output))
        others = basic.log.total
        assert unix.log.total > 0 and basic.log.total > 0
        app.counters.interval = 0  # redraw at every refresh, not at most twice a wall-clock second
        await pilot.press("alt+z")
        await settle(pilot, app)
        # Zero, but not reset: the same machine, clock and console; the other guest untouched.
        assert unix.log.total == 0 and not any(unix.log.counts.values()) and unix.hidden_faults == 0
        assert (unix.vcpu.cycles, unix.instructions, bytes(unix.output)) == before
        assert unix.state is GuestState.IDLE and basic.log.total == others
        title = app.counters.query_one("#ctr-title", Static).content
        assert str(title).startswith("unix: 0 exits")
        lines = app.traps.query_one(TrapLines).line_texts()
        assert "counters zeroed from the dashboard" in lines[-1]
        # It runs on: the counters grow again from zero.
        await typed(pilot, "echo hi")
        at_prompt(session, "unix", 2)
        await settle(pilot, app)
        assert 0 < unix.log.total < unix.vcpu.icount
        assert session.terminals["unix"].text().splitlines()[-2] == "hi"
        assert str(app.counters.query_one("#ctr-title", Static).content).startswith(f"unix: {unix.log.total:,} exits")

    run_app(session, body, (160, 50))


# --- the verdict in the guest list -------------------------------------------------------------------


def test_the_guest_list_shows_eret_escape_s_verdict_escaped_in_red_and_protected_in_green():
    lineup = Lineup([GuestSpec("eret-escape", name="naive", remedy="none", net=False),
                     GuestSpec("eret-escape", name="assisted", remedy="hw", net=False)], flawed_eret=True)  # fmt: skip
    session = Session(lineup, realtime=False)

    async def body(pilot, app):
        assert app.guest_list.cells_of("naive")[-1] == ""  # running: no verdict yet
        run_to_the_end(session)
        await settle(pilot, app)
        cells = {name: app.guest_list.cells_of(name) for name in ("naive", "assisted")}
        assert cells["naive"][2] == cells["assisted"][2] == "halted"
        assert cells["naive"][-1] == "ESCAPED" and cells["assisted"][-1] == "PROTECTED"
        # The colours, as drawn.
        for y, (word, colour) in enumerate((("ESCAPED", "red"), ("PROTECTED", "green")), 1):
            segment = next(s for s in app.guest_list.render_line(y) if s.text.strip() == word)
            assert segment.style.color.name == colour, segment.style
        # Run again, it has no verdict until it gives one.
        await pilot.press("f7")
        await settle(pilot, app)
        assert app.guest_list.cells_of("naive")[-1] == ""

    run_app(session, body, (160, 50))


# --- Alt+L: the comparison ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (200, 55)])
def test_alt_l_shows_every_guest_s_real_counts_side_by_side(size):
    session = gotcha_session()

    async def body(pilot, app):
        run_to_the_end(session)
        await settle(pilot, app)
        await pilot.press("alt+l")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        table = shown_table(screen)
        guests = session.guests
        assert table["guest"] == list(GOTCHA)
        assert table["remedy"] == [remedy for remedy, _ in GOTCHA.values()]
        assert table["verdict"] == [verdict for _, verdict in GOTCHA.values()]
        for reason in T.REASONS:
            assert table[reason] == [f"{g.log.counts[reason]:,}" for g in guests], reason
        assert table["total exits"] == [f"{g.log.total:,}" for g in guests]
        for action in (T.EMULATED, T.INJECTED, T.BT_SCAN, T.TRUE):
            assert table[action] == [f"{g.log.actions.get(action, 0):,}" for g in guests], action
        assert table["run directly"] == [f"{g.direct_instructions:,}" for g in guests]
        assert table["emulated by VMM"] == [f"{g.emulated_instructions:,}" for g in guests]
        # What tells the remedies apart: the naive VMM saw fewer xRETs than bt and hw, pv
        # made hypercalls instead, bt scanned pages, and only naive's user code met no true fault.
        xret = dict(zip(GOTCHA, (int(n) for n in table["xret"]), strict=True))
        assert xret["naive"] < xret["translated"] == xret["assisted"] and xret["paravirtual"] == xret["naive"]
        assert [int(n) > 0 for n in table["hypercall"]] == [False, False, False, True]
        assert [int(n) > 0 for n in table[T.BT_SCAN]] == [False, True, False, False]
        assert [int(n) > 0 for n in table[T.TRUE]] == [False, True, True, True]
        # All of it within the screen: every column at once; at 200 x 55 every row too,
        # at 80 x 24 the rest is a scroll away.
        box = screen.query_one("#compare")
        width, height = size
        assert box.region.right <= width and box.region.bottom <= height
        assert box.max_scroll_x == 0
        if size == (200, 55):
            assert box.max_scroll_y == 0
        else:
            await pilot.press("end")
            await settle(pilot, app)
            assert box.scroll_y == box.max_scroll_y > 0
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is app.main_screen

    run_app(session, body, size)


def test_the_comparison_follows_the_guests_and_z_zeroes_them_all():
    session = gotcha_session()

    async def body(pilot, app):
        await pilot.press("alt+l")
        await settle(pilot, app)
        screen = app.screen
        assert shown_table(screen)["state"] == ["running"] * 4
        run_to_the_end(session)
        screen.refresh_from_session()  # (the screen's timer is off in tests)
        await pilot.pause()
        assert shown_table(screen)["verdict"] == [verdict for _, verdict in GOTCHA.values()]
        await pilot.press("z")
        await settle(pilot, app)
        assert all(g.log.total == 0 and g.direct_instructions == 0 for g in session.guests)
        table = shown_table(screen)
        assert table["total exits"] == table["xret"] == ["0"] * 4
        assert table["verdict"] == [verdict for _, verdict in GOTCHA.values()]  # zeroing is no reset
        await pilot.press("alt+l")  # closes it too
        await settle(pilot, app)
        assert app.screen is app.main_screen

    run_app(session, body, (160, 50))


def test_zeroing_and_comparing_are_in_the_command_palette():
    session = session_of("hello")

    async def body(pilot, app):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Zero counters" in titles and "Compare guests' exits" in titles

    run_app(session, body, (80, 24))


def test_comparison_rows_for_a_guest_with_no_verdict():
    session = session_of("hello")
    try:
        session.vmm.run()
        rows = {row.label: row.cells for row in comparison(session.guests)}
        assert rows["verdict"] == ("-",) and rows["state"] == ("halted",)
        assert rows["mmio"] == (f"{session.guest('hello').log.counts['mmio']:,}",)
    finally:
        session.close()


def test_linux_with_its_firmware_beside_linux_with_the_vmm_serving_its_sbi():
    """The comparison shows who serves SBI once a guest's VMM does, and what it saves:
    the same calls, one exit each (sbi served) instead of injected into the firmware."""
    session = Session(Lineup([GuestSpec("linux", name="firmware", net=False),
                              GuestSpec("linux", name="served", sbi="vmm", net=False)]), realtime=False)  # fmt: skip
    try:
        for _ in range(30):
            session.vmm.run_round()
        rows = {row.label: row.cells for row in comparison(session.guests)}
        assert rows["sbi"] == ("firmware", "vmm")
        fw, served = (int(cell.replace(",", "")) for cell in rows[T.SBI_SERVED])
        assert fw == 0 and served > 0
        exits = [int(cell.replace(",", "")) for cell in rows["total exits"]]
        assert exits[1] < exits[0]
    finally:
        session.close()
    assert "sbi" not in {row.label for row in comparison([])}
