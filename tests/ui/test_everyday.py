"""The dashboard as people use it every day, checked by what they see and what the
guest receives, not by pictures: small and large terminals, resizes, many guests,
the keyboard in every pane and in the grid, resets, the ERET flaw switched on over
running guests, F9's completion, and text that must not be cut.

Guests run only when a test runs their slices (virtual time), so every run is the same.
"""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input

from tuivmm.lineup.file import GuestSpec, Lineup, lineup_from_names
from tuivmm.ui.app import TuivmmApp
from tuivmm.ui.console import ConsoleGrid, ConsolePane, ConsoleTile
from tuivmm.ui.dialogs import AddGuestDialog, FlawDialog
from tuivmm.ui.layout import CONSOLE_HEIGHT, MIN_SIZE, WIDE_MIN, plan
from tuivmm.ui.session import Session
from tuivmm.ui.tick import Tick
from tuivmm.ui.traps import event_line
from tuivmm.vmm import GuestState
from tuivmm.vmm import traplog as T

# --- helpers ------------------------------------------------------------------------------


def session_of(*images: str) -> Session:
    return Session(lineup_from_names(list(images)), realtime=False)


def run_until(session: Session, name: str, done, slices: int = 4000) -> None:
    guest = session.guest(name)
    for _ in range(slices):
        if done():
            return
        session.vmm.run_slice(guest)
    assert done(), session.terminals[name].text()


def at_prompt(session: Session, name: str, prompts: int = 1, since: int = 0) -> None:
    """Run guest `name` until it has printed `prompts` unix prompts (after the first
    `since` bytes of its console), the last one waiting."""
    output = session.guest(name).output

    def done() -> bool:
        return output.count(b"\n$ ", since) >= prompts and output.endswith(b"$ ")

    run_until(session, name, done)


async def typed(pilot, text: str, enter: bool = True) -> None:
    """Type `text` (and Enter) as a terminal delivers keys to the app."""
    for ch in text:
        pilot.app.post_message(events.Key("space" if ch == " " else ch, ch))
    if enter:
        pilot.app.post_message(events.Key("enter", "\r"))
    await pilot.pause()


async def settle(pilot, app: TuivmmApp) -> None:
    app.refresh_view()
    await pilot.pause()
    await pilot.pause()


def screen_row_of_cursor(app: TuivmmApp) -> int:
    """The terminal line where the selected guest's cursor is drawn."""
    pane = app.console_pane
    return pane.content_region.y + app.session.terminals[app.selected].screen.cursor.y


def drawn_text(pane: ConsolePane, y: int) -> str:
    return "".join(segment.text for segment in pane.render_line(y)).rstrip()


# --- the layout ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (100, 30), MIN_SIZE])
def test_a_small_terminal_shows_the_console_and_the_guest_list_the_cursor_line_on_screen(size):
    session = session_of("unix", "basic")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await typed(pilot, "help")  # a screenful and more
        at_prompt(session, "unix", 2)
        await settle(pilot, app)
        width, height = size
        pane = app.console_pane
        assert app.plan.mode == "stacked" and pane.display
        # The whole pane is on the screen, right border and all, and the guest's screen is its size.
        assert pane.region.right <= width and pane.region.bottom <= height - 1  # above the footer
        terminal = session.terminals["unix"]
        assert (terminal.screen.columns, terminal.screen.lines) == (pane.size.width, pane.size.height)
        # The prompt, where the cursor is, is drawn on a line of the terminal that shows the console.
        row = screen_row_of_cursor(app)
        assert app.screen.get_widget_at(1, row)[0] is pane
        assert drawn_text(pane, terminal.screen.cursor.y) == "$"
        # The guest list shows both guests; the pane bar names the panes one key away.
        assert app.guest_list.display and app.guest_list.shown_names() == ["unix", "basic"]
        assert app.pane_bar.display
        if width >= 80:
            assert pane.size.width == width  # every column of an 80-column terminal is the guest's

    run_app(session, body, size)


@pytest.mark.parametrize(("key", "pane"), [("alt+m", "memory"), ("alt+x", "counters"), ("alt+t", "traps")])
def test_on_a_small_terminal_every_pane_is_one_key_away_and_escape_brings_back_the_console(key, pane):
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        await pilot.press(key)
        await settle(pilot, app)
        widget = getattr(app, pane)
        assert widget.display and not app.console_pane.display
        assert widget.region.bottom <= 23 and widget.size.height >= 10  # it has the console's room
        assert app.keyboard_pane() == {"counters": "exits"}.get(pane, pane)
        assert "Esc: console" in app.sub_title
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.console_pane.display and app.keyboard_pane() == "console"

    run_app(session, body, (80, 24))


def test_the_plan_gives_large_terminals_room_for_every_pane():
    small = plan(80, 24, 4)
    assert small.mode == "stacked" and small.list_rows == 4
    assert plan(WIDE_MIN[0] - 1, 60, 4).mode == "stacked" and plan(200, WIDE_MIN[1] - 1, 4).mode == "stacked"
    assert plan(MIN_SIZE[0] - 1, 30, 4).mode == "too small"
    for width, height in [(160, 50), (200, 55), (300, 80)]:
        p = plan(width, height, 4)
        assert p.mode == "wide" and p.list_rows == 4
        assert p.upper >= CONSOLE_HEIGHT  # the console's 24 lines, at least
        assert p.lower >= 15  # the trap log and exits: the biggest exit reasons fit
    big = plan(300, 80, 4)
    # The extra height is shared: the console's row grows as well as the trap log's.
    assert big.upper > CONSOLE_HEIGHT + 8 and big.lower > 20


@pytest.mark.parametrize("size", [(160, 50), (200, 55), (300, 80)])
def test_a_large_terminal_shows_every_pane_with_the_exit_reasons_and_the_guest_physical_map(size):
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        app.counters._at = -1e9
        await settle(pilot, app)
        width, height = size
        assert app.plan.mode == "wide"
        for widget in (app.console_pane, app.memory, app.counters, app.traps):
            assert widget.display and widget.region.right <= width and widget.region.bottom <= height - 1
        # The biggest exit reason's row is in view in the exits pane.
        table = app.counters.query_one("#ctr-table")
        first = table.region.y + 1  # below the heading
        assert app.counters.region.y < first < app.counters.region.bottom - 1
        assert table.get_row_at(0)[0].plain == max(session.guest("unix").log.counts.items(), key=lambda i: i[1])[0]
        # The guest-physical map's first rows are in view in the memory pane.
        gpa = app.memory.query_one("#mem-gpa")
        assert gpa.region.y + 2 < app.memory.region.bottom
        # The console keeps its 80 columns; at 300 x 80 it has more than 24 lines.
        assert app.console_pane.size.width == 80
        if height >= 80:
            assert app.console_pane.size.height > 24

    run_app(session, body, size)


def test_a_resize_lays_the_screen_out_again():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        assert app.plan.mode == "wide" and app.memory.display
        await pilot.resize_terminal(80, 24)
        await settle(pilot, app)
        assert app.plan.mode == "stacked" and not app.memory.display
        assert app.console_pane.size.width == 80
        assert session.terminals["unix"].screen.columns == 80
        row = screen_row_of_cursor(app)
        assert row < 23 and app.screen.get_widget_at(1, row)[0] is app.console_pane
        await pilot.resize_terminal(40, 10)
        await settle(pilot, app)
        assert app.plan.mode == "too small" and app.too_small.display and "at least 60 x 15" in str(
            app.too_small.render())
        await pilot.resize_terminal(200, 55)
        await settle(pilot, app)
        assert app.plan.mode == "wide" and app.memory.display and app.console_pane.display

    run_app(session, body, (160, 50))


# --- many guests --------------------------------------------------------------------------


def test_with_sixteen_guests_every_one_is_reachable_and_the_list_follows_the_selection():
    session = Session(Lineup([GuestSpec("hello", ram_mib=16)] * 16), realtime=False)

    async def body(pilot, app):
        await settle(pilot, app)
        names = [g.name for g in session.guests]
        assert len(names) == 16 and app.guest_list.visible_rows < 16
        for expected in names[1:] + names[:1]:  # F3 all the way round
            await pilot.press("f3")
            await pilot.pause()
            assert app.selected == expected and expected in app.guest_list.shown_names()
        await pilot.press("f2")  # back to the last one, from the first
        await pilot.pause()
        assert app.selected == names[-1] and names[-1] in app.guest_list.shown_names()
        assert "▲" in str(app.guest_list.border_subtitle)
        # A click on a line selects the guest shown there.
        shown = app.guest_list.shown_names()
        await pilot.click("#guests", offset=(5, 1 + 1 + 1))  # border, heading, second line
        await pilot.pause()
        assert app.selected == shown[1]

    run_app(session, body, (80, 24))


# --- the keyboard -------------------------------------------------------------------------


def test_what_is_typed_in_the_grid_reaches_the_selected_guest():
    session = session_of("unix", "basic")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await typed(pilot, "echo before")
        at_prompt(session, "unix", 2)
        await pilot.press("f4")
        await settle(pilot, app)
        assert app.views.current == "grid" and app.focused is app.query_one(ConsoleGrid)
        assert "unix's console" in app.sub_title
        await typed(pilot, "echo ingrid")
        at_prompt(session, "unix", 3)
        await pilot.press("f4")
        await settle(pilot, app)
        text = session.terminals["unix"].text()
        assert "$ echo ingrid\ningrid\n$" in text
        assert "ingrid" not in session.terminals["basic"].text()
        assert app.focused is app.console_pane

    run_app(session, body, (160, 50))


def test_after_a_click_in_the_trap_log_typing_still_reaches_the_guest():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        await pilot.click("#trap-lines", offset=(10, 3))
        await pilot.pause()
        assert app.keyboard_pane() == "traps" and "trap log" in app.sub_title
        assert "⌨" in str(app.traps.border_title) and "⌨" not in str(app.console_pane.border_title)
        await typed(pilot, "echo x")
        at_prompt(session, "unix", 2)
        assert "$ echo x\nx\n$" in session.terminals["unix"].text()
        assert app.keyboard_pane() == "console" and "⌨" in str(app.console_pane.border_title)

    run_app(session, body, (160, 50))


def test_keys_the_trap_log_uses_stay_there():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        await pilot.press("alt+t")
        await settle(pilot, app)
        await pilot.press("up", "pageup")
        await pilot.pause()
        assert app.keyboard_pane() == "traps" and not app.traps.following
        await pilot.press("end")
        await pilot.pause()
        assert app.traps.following and session.guest("unix").input == b""

    run_app(session, body, (160, 50))


# --- a reset is a fresh machine ------------------------------------------------------------


def test_f7_gives_a_fresh_machine_its_uptime_and_counters_from_zero():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await typed(pilot, "uptime")
        at_prompt(session, "unix", 2)
        first_uptime = session.terminals["unix"].text().splitlines()[-2]
        guest = session.guest("unix")
        await settle(pilot, app)
        boot_cycles = guest.vcpu.cycles
        await pilot.press("f7")
        await settle(pilot, app)
        assert guest.vcpu.cycles == 0 and guest.log.total == 0
        assert app.guest_list.cells_of("unix")[8] == "0.00s"
        assert any(e.reason == T.RESET for e in guest.log.events)
        since = len(guest.output)
        at_prompt(session, "unix", since=since)
        await typed(pilot, "uptime")
        at_prompt(session, "unix", 2, since=since)
        # The same boot, the same `uptime`, as the first time: the clock started from zero.
        assert session.terminals["unix"].text().splitlines()[-2] == first_uptime
        assert guest.vcpu.cycles < boot_cycles * 2

    run_app(session, body, (160, 50))


# --- the ERET flaw ----------------------------------------------------------------------------


def test_alt_e_names_the_guests_the_flaw_would_break_and_protects_those_ticked():
    session = session_of("unix", "unix", "basic", "eret-escape")

    async def body(pilot, app):
        for name in ("unix", "unix-2"):
            at_prompt(session, name)
        await settle(pilot, app)
        await pilot.press("alt+e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, FlawDialog)
        ticks = {tick.name: tick.value for tick in dialog.query(Tick)}
        # basic never uses SRET; eret-escape is built to show the flaw: left naive.
        assert ticks == {"unix": True, "unix-2": True, "eret-escape": False}
        assert not session.vmm.flawed_eret  # not yet
        dialog.query_one("Tick").value = False  # leave unix naive
        await pilot.press("enter")  # the button has the focus: Enter turns the flaw on
        await pilot.pause()
        assert session.vmm.flawed_eret
        assert [session.guest(n).remedy for n in ("unix", "unix-2", "basic", "eret-escape")] == [
            "none", "hw", "none", "none"]
        await pilot.press("alt+2")
        await typed(pilot, "echo safe")
        at_prompt(session, "unix-2", 2)
        assert "safe\n$" in session.terminals["unix-2"].text()

    run_app(session, body, (160, 50))


def test_alt_e_cancelled_leaves_the_flaw_off():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await pilot.press("alt+e")
        await pilot.pause()
        assert isinstance(app.screen, FlawDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert not session.vmm.flawed_eret and session.guest("unix").remedy == "none"

    run_app(session, body, (160, 50))


# --- F9 completes as a shell does ------------------------------------------------------------


def test_f9_tab_completes_names_and_paths_and_stays_in_the_input(tmp_path, monkeypatch):
    (tmp_path / "hello.S").write_text("_start: j _start\n")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "one.elf").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    session = session_of("hello")

    async def body(pilot, app):
        await pilot.press("f9")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, AddGuestDialog)
        answer = dialog.query_one(Input)
        await pilot.press("u", "n", "tab")
        assert answer.value == "unix " and app.focused is answer  # the one candidate, then a space
        answer.value = ""
        await pilot.press("h", "e", "tab")
        await pilot.pause()
        assert answer.value == "hello" and app.focused is answer  # hello and hello.S agree that far
        assert "hello.S" in str(dialog.query_one("#completions").render())
        answer.value = "im"
        answer.cursor_position = 2
        await pilot.press("tab", "tab")
        assert answer.value == "images/one.elf "
        await pilot.press("escape")

    run_app(session, body, (100, 30))


# --- text that is not cut, words that agree -----------------------------------------------------


def test_trap_log_lines_keep_long_guest_names_and_causes_whole():
    event = T.TrapEvent(1, "eret-escape-pv-2", 10, 0x80000000, 1, 0, (1 << 31) | 1, T.INTERRUPT, T.INJECTED)
    line = event_line(event).plain
    assert "eret-escape-pv-2 " in line and "supervisor software interrupt " in line


def test_grid_tiles_wrap_long_lines_at_words():
    session = session_of("unix", "basic", "hello")

    async def body(pilot, app):
        terminal = session.terminals["unix"]
        terminal.feed(b"the quick brown fox jumps over the lazy dog and keeps on running far away\n$ ")
        await pilot.press("f4")
        await settle(pilot, app)
        tile = next(t for t in app.query(ConsoleTile) if t.name == "unix")
        width = tile.size.width
        assert width < 74
        lines = [("".join(s.text for s in tile.render_line(y))).rstrip() for y in range(tile.size.height)]
        text = [line for line in lines if line]
        assert text[-1] == "$"
        words = " ".join(text[:-1]).split()
        assert words == "the quick brown fox jumps over the lazy dog and keeps on running far away".split()
        assert all(len(line) <= width for line in text)

    run_app(session, body, (100, 30))


def test_a_checkbox_shows_whether_it_is_ticked():
    session = session_of("unix")

    async def body(pilot, app):
        tick = app.traps.query_one("#trap-all", Tick)
        assert str(tick.render()).startswith("[ ]")
        tick.value = True
        await pilot.pause()
        assert str(tick.render()).startswith("[x]")

    run_app(session, body, (160, 50))


def test_one_line_is_one_line():
    session = session_of("hello")

    async def body(pilot, app):
        run_until(session, "hello", lambda: session.guest("hello").state.finished)
        guest = session.guest("hello")
        guest.log.events.clear()
        guest.log.record(0, 0x80000000, 3, 0x30200073, 2, T.XRET, T.EMULATED)
        app.traps._scope = None
        await settle(pilot, app)
        assert str(app.traps._status).endswith(" 1 line")

    run_app(session, body, (160, 50))


# --- stale states and silent keys ---------------------------------------------------------------


def test_keys_that_cannot_act_on_a_guest_that_has_ended_say_so():
    session = session_of("hello")

    async def body(pilot, app):
        run_until(session, "hello", lambda: session.guest("hello").state.finished)
        await settle(pilot, app)
        notes = []
        show = app.notify
        app.notify = lambda message, **kw: notes.append(str(message)) or show(message, **kw)
        for key in ("f5", "f6", "alt+g"):
            await pilot.press(key)
            await pilot.pause()
        assert len(notes) == 3 and all("hello has halted" in n and "F7" in n for n in notes)
        assert not isinstance(app.screen, type(None)) and session.guest("hello").state is GuestState.HALTED

    run_app(session, body, (160, 50))


def test_a_guest_that_ends_while_gdb_may_attach_stops_offering_its_port():
    session = session_of("hello")

    async def body(pilot, app):
        stub = await session.debug("hello", 0)
        assert stub is not None and session.guest("hello").state is GuestState.DEBUG
        await settle(pilot, app)
        assert "gdb may attach" in app.guest_list.cells_of("hello")[-1]
        session.guest("hello").stop()
        await settle(pilot, app)
        assert "gdb" not in app.guest_list.cells_of("hello")[-1]
        assert "hello" not in session.debuggers

    run_app(session, body, (160, 50))


# --- the harness --------------------------------------------------------------------------------


def run_app(session: Session, body, size) -> None:
    """Run the dashboard at `size` (no timer, no tasks: the test runs the guests), then `body`."""
    import asyncio

    async def main():
        app = TuivmmApp(session, autostart=False, refresh_hz=None)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(pilot, app)

    try:
        asyncio.run(main())
    finally:
        session.close()



# --- an idle machine ----------------------------------------------------------------------


def test_an_idle_guests_uptime_alone_is_painted_once_a_second_other_figures_at_once():
    import dataclasses

    from tuivmm.ui import guestlist

    session = session_of("hello", "basic")
    now = [1000.0]

    async def body(pilot, app):
        listing = app.guest_list
        assert listing.clock_only_every == 0.0  # virtual time: every change at once
        listing.clock_only_every = 1.0  # as the app sets it where clocks follow the wall clock
        listing.clock = lambda: now[0]
        rows = session.sample()
        listing.show_rows(rows, "hello")
        uptime = guestlist.UPTIME
        shown = listing.cells_of("basic")[uptime]

        def later(seconds: float, **change) -> None:
            now[0] += seconds
            rows[1] = dataclasses.replace(rows[1], **change)
            listing.show_rows(rows, "hello")

        later(0.3, uptime_s=rows[1].uptime_s + 0.3)
        assert listing.cells_of("basic")[uptime] == shown  # only the clock moved: not yet
        later(0.3, uptime_s=rows[1].uptime_s + 0.3, remedy="hw")
        assert listing.cells_of("basic")[uptime] != shown  # another figure: the line now, clock and all
        assert listing.cells_of("basic")[COLUMN_REMEDY] == "hw"
        shown = listing.cells_of("basic")[uptime]
        later(0.5, uptime_s=rows[1].uptime_s + 0.5)
        assert listing.cells_of("basic")[uptime] == shown
        later(0.6, uptime_s=rows[1].uptime_s + 0.6)  # a second since the last paint
        assert listing.cells_of("basic")[uptime] != shown

    run_app(session, body, (160, 50))


COLUMN_REMEDY = 9


def test_where_guests_clocks_follow_the_wall_clock_the_list_paints_uptime_once_a_second():
    seen = {}
    for realtime in (True, False):
        session = Session(lineup_from_names(["hello"]), realtime=realtime)

        async def main(session=session, realtime=realtime):
            app = TuivmmApp(session, autostart=False, refresh_hz=None)
            async with app.run_test(size=(100, 30)):
                seen[realtime] = app.guest_list.clock_only_every

        import asyncio

        try:
            asyncio.run(main())
        finally:
            session.close()
    assert seen == {True: 1.0, False: 0.0}


# --- notes at start ---------------------------------------------------------------------


def test_the_lineup_s_throwaway_disks_are_one_note_not_one_each():
    session = Session(Lineup([GuestSpec("unix"), GuestSpec("basic"), GuestSpec("unix")]), realtime=False)
    try:
        disk_notes = [note for note in session.notices if "--disk" in note]
        assert disk_notes == [
            "unix, unix-2 have no --disk, so each gets a fresh empty disk that is thrown away at exit "
            '(to keep their files: --disk NAME=FILE on the command line, disk = "FILE" in a lineup file)'
        ]
        # A guest added later (F9) gets its own note, naming it by the name it gets.
        assert session.add(GuestSpec("unix")).name == "unix-3"
        assert session.notices[-1].startswith("unix-3 has no --disk, so it gets a fresh empty 2 MiB disk")
        assert "--disk unix-3=FILE" in session.notices[-1]
    finally:
        session.close()


def test_one_unix_in_the_lineup_gets_the_note_naming_it():
    session = Session(Lineup([GuestSpec("unix"), GuestSpec("hello")]), realtime=False)
    try:
        assert [note for note in session.notices if "--disk" in note] == [
            "unix has no --disk, so it gets a fresh empty 2 MiB disk that is thrown away at exit (to keep its "
            'files, give it one: --disk unix=FILE on the command line, disk = "FILE" in a lineup file, '
            "--disk FILE after F9)"
        ]
    finally:
        session.close()
