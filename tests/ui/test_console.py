"""The console widgets: a guest's VT100 screen drawn with its attributes, the keys
typed into it, and the grid of every guest's console.

Each test hosts the widget in a tiny App under `App.run_test()`; guests run only
when a test runs their slices (`session.vmm.run_slice`), so every run is the same.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from tuivmm.lineup.file import lineup_from_names
from tuivmm.ui.console import SPECIAL_KEYS, ConsoleGrid, ConsolePane, ConsoleTile
from tuivmm.ui.session import Session, Terminal

APP_KEYS = ("f1", "f5", "f12", "alt+1", "alt+x")


class Host(App, inherit_bindings=False):
    """A ConsolePane (focused) beside an Input, with bindings of its own: the keys a
    pane must leave to the app record themselves in `fired`.  As the dashboard, it
    leaves Ctrl+Q and Ctrl+P (Textual's quit and command palette) to the guest."""

    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar = [Binding(key, f"fired('{key}')") for key in APP_KEYS]

    def __init__(self, session: Session, guest: str, *, grid: bool = False):
        super().__init__()
        self.session, self.guest, self.grid = session, guest, grid
        self.fired: list[str] = []
        self.selected: list[str] = []
        self.unhandled: list[str] = []  # keys that bubbled up to the app

    def compose(self) -> ComposeResult:
        if self.grid:
            yield ConsoleGrid(self.session)
        else:
            yield ConsolePane(self.session)
        yield Input()

    def on_mount(self) -> None:
        if not self.grid:
            pane = self.query_one(ConsolePane)
            pane.show(self.guest)
            pane.focus()

    def action_fired(self, key: str) -> None:
        self.fired.append(key)

    def on_key(self, event: events.Key) -> None:
        self.unhandled.append(event.key)

    def on_console_grid_selected(self, message: ConsoleGrid.Selected) -> None:
        self.selected.append(message.name)


def session_of(*images: str) -> Session:
    return Session(lineup_from_names(list(images)), realtime=False)


def run_until(session: Session, guest, done, slices: int = 3000) -> None:
    for _ in range(slices):
        if done():
            return
        session.vmm.run_slice(guest)
    assert done(), session.terminals[guest.name].text()


def booted_unix() -> tuple[Session, object]:
    session = session_of("unix")
    guest = session.guests[0]
    run_until(session, guest, lambda: session.terminals[guest.name].text().endswith("unix shell: type help\n$"))
    return session, guest


def hosted(session: Session, guest: str, test, *, size=(80, 24), grid: bool = False) -> Host:
    async def main():
        app = Host(session, guest, grid=grid)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await test(app, pilot)
        return app

    try:
        return asyncio.run(main())
    finally:
        session.close()


def cells(view, y: int) -> list[tuple[str, Style]]:
    """Line y as the widget draws it, cell by cell."""
    return [(ch, seg.style) for seg in view.render_line(y) for ch in seg.text]


def line_text(view, y: int) -> str:
    return "".join(ch for ch, _ in cells(view, y)).rstrip()


async def settle(pane, pilot) -> None:
    pane.refresh_from_session()
    await pilot.pause()


# --- drawing --------------------------------------------------------------------------


def test_colours_bold_italics_underline_and_reverse_video_render_with_their_styles():
    session = session_of("compute")
    name = session.guests[0].name

    async def test(app, pilot):
        pane = app.query_one(ConsolePane)
        pane.blur()
        session.terminals[name].feed(
            b"\x1b[31mR\x1b[0m\x1b[44mB\x1b[0m\x1b[1mb\x1b[0m\x1b[3mi\x1b[0m\x1b[4mu\x1b[0m\x1b[7mv\x1b[0m"
            b"\x1b[33my\x1b[93mY\x1b[38;5;196mP\x1b[48;5;21mQ\x1b[0m\x1b[38;2;1;2;3mT\x1b[0m"
            b"\x1b[1;7;32;45mM\x1b[0mn"
        )  # fmt: skip
        await settle(pane, pilot)
        row = dict(cells(pane, 0)[:14])
        assert row["R"].color.name == "red" and row["R"].bgcolor is None
        assert row["B"].bgcolor.name == "blue" and row["B"].color is None
        assert row["b"].bold and not row["b"].italic
        assert row["i"].italic and not row["i"].bold
        assert row["u"].underline
        assert row["v"].reverse
        assert row["y"].color.name == "yellow"  # pyte calls it brown
        assert row["Y"].color.name == "bright_yellow"
        assert row["P"].color.triplet.hex == "#ff0000"  # 256-colour 196
        assert row["Q"].bgcolor.triplet.hex == "#0000ff" and row["Q"].color.triplet.hex == "#ff0000"
        assert row["T"].color.triplet.hex == "#010203"  # truecolor
        m = row["M"]
        assert m.bold and m.reverse and m.color.name == "green" and m.bgcolor.name == "magenta"
        n = row["n"]
        assert not (n.bold or n.reverse or n.italic or n.underline) and n.color is None

    hosted(session, name, test)


def test_cursor_movement_and_clear_screen_render_where_the_sequences_put_them():
    session = session_of("compute")
    name = session.guests[0].name

    async def test(app, pilot):
        pane = app.query_one(ConsolePane)
        terminal = session.terminals[name]
        terminal.feed(b"old line one\nold line two\n")
        await settle(pane, pilot)
        assert line_text(pane, 1) == "old line two"
        terminal.feed(b"\x1b[2J\x1b[Habc\x1b[5;10HX\x1b[1;2HZ\x1b[3;1Hthird\x1b[3;3H\x1b[K")
        await settle(pane, pilot)
        assert [line_text(pane, y) for y in range(6)] == ["aZc", "", "th", "", "         X", ""]
        # The cursor, where the last sequence left it, is a reverse-video cell.
        assert terminal.screen.cursor.x == 2 and terminal.screen.cursor.y == 2
        assert cells(pane, 2)[2][1].reverse and not cells(pane, 2)[1][1].reverse
        terminal.feed(b"\x1b[2J\x1b[H")
        await settle(pane, pilot)
        assert all(line_text(pane, y) == "" for y in range(pane.size.height))

    hosted(session, name, test)


def test_the_cursor_shows_only_while_the_pane_has_the_focus():
    session = session_of("compute")
    name = session.guests[0].name

    async def test(app, pilot):
        pane = app.query_one(ConsolePane)
        session.terminals[name].feed(b"$ ")
        await settle(pane, pilot)
        assert pane.has_focus and cells(pane, 0)[2][1].reverse
        app.query_one(Input).focus()
        await settle(pane, pilot)
        assert not pane.has_focus and not cells(pane, 0)[2][1].reverse
        session.terminals[name].feed(b"\x1b[?25l")  # the guest hides it
        pane.focus()
        await settle(pane, pilot)
        assert not any(style.reverse for _, style in cells(pane, 0))

    hosted(session, name, test)


def test_the_guest_screen_takes_the_panes_size_and_output_wraps_at_its_width():
    session = session_of("compute")
    name = session.guests[0].name

    async def test(app, pilot):
        pane = app.query_one(ConsolePane)
        terminal = session.terminals[name]
        assert terminal.size == (pane.size.width, pane.size.height) == (60, 20)
        terminal.feed(b"top\n")
        await pilot.resize_terminal(50, 19)
        await settle(pane, pilot)
        assert terminal.size == (pane.size.width, pane.size.height) == (50, 16)
        terminal.feed(b"x" * 70)
        await settle(pane, pilot)
        assert line_text(pane, 0) == "top"
        assert line_text(pane, 1) == "x" * 50 and line_text(pane, 2) == "x" * 20

    hosted(session, name, test, size=(60, 23))  # the Input below the pane takes 3 lines


def test_shrinking_keeps_the_cursor_line_and_drops_lines_only_from_the_top():
    terminal = Terminal(80, 24)
    terminal.feed(b"one\ntwo\n$ ")
    terminal.resize(40, 10)
    assert terminal.text() == "one\ntwo\n$"
    terminal.feed(b"".join(b"line %d\n" % i for i in range(20)) + b"$ ")
    terminal.resize(40, 4)
    assert terminal.text() == "line 17\nline 18\nline 19\n$"
    assert (terminal.screen.cursor.x, terminal.screen.cursor.y) == (2, 3)


def test_refreshing_redraws_nothing_when_the_guest_printed_nothing_and_only_changed_lines_otherwise():
    session = session_of("compute")
    name = session.guests[0].name

    async def test(app, pilot):
        pane = app.query_one(ConsolePane)
        terminal = session.terminals[name]
        terminal.feed(b"".join(b"line %d\n" % i for i in range(10)))
        await settle(pane, pilot)
        before = pane.redraws
        for _ in range(5):
            await settle(pane, pilot)
        assert pane.redraws == before
        terminal.feed(b"abc")  # line 10, where the cursor is
        await settle(pane, pilot)
        assert pane.redraws == before + 1
        assert line_text(pane, 10) == "abc"
        terminal.feed(b"\n")  # the cursor leaves line 10 for 11
        await settle(pane, pilot)
        assert pane.redraws == before + 3

    hosted(session, name, test)


# --- keys ---------------------------------------------------------------------------------


# What a VT100/xterm terminal sends for each key (xterm's normal cursor-key mode),
# written out here, apart from tuivmm/ui/console.py, so the test checks the module
# against the conventions rather than against itself.
TERMINAL_KEYS = {
    "enter": b"\r",            # CR
    "backspace": b"\x7f",      # DEL
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",    # CSI Z, back tab
    "escape": b"\x1b",
    "space": b" ",
    "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D",
    "home": b"\x1b[H", "end": b"\x1b[F",
    "insert": b"\x1b[2~", "delete": b"\x1b[3~", "pageup": b"\x1b[5~", "pagedown": b"\x1b[6~",
    # Ctrl with @, space, \, ], ^ and _: the control characters 0x00 and 0x1c-0x1f.
    "ctrl+@": b"\x00", "ctrl+space": b"\x00", "ctrl+backslash": b"\x1c",
    "ctrl+right_square_bracket": b"\x1d", "ctrl+circumflex_accent": b"\x1e", "ctrl+underscore": b"\x1f",
    # Ctrl+letter: the letter's code with bits 5 and 6 cleared (Ctrl+A 0x01 ... Ctrl+Z 0x1a).
    **{f"ctrl+{letter}": bytes([i + 1]) for i, letter in enumerate("abcdefghijklmnopqrstuvwxyz")},
}  # fmt: skip


def test_the_key_table_covers_every_key_the_console_maps():
    assert set(SPECIAL_KEYS) <= set(TERMINAL_KEYS)


def test_every_key_reaches_the_guest_as_a_terminal_sends_it():
    session = session_of("compute")  # never run: what is typed stays in guest.input
    guest = session.guests[0]
    expected = dict(TERMINAL_KEYS)
    expected.update({chr(c): chr(c).encode() for c in range(ord("a"), ord("z") + 1)})
    expected.update({"A": b"A", "Z": b"Z", "0": b"0", "9": b"9", "~": b"~", "/": b"/", "plus": b"+", "$": b"$"})

    async def test(app, pilot):
        pane = app.query_one(ConsolePane)
        for key, data in expected.items():
            guest.input.clear()
            await pilot.press(key)
            assert bytes(guest.input) == data, key
            assert pane.has_focus, key  # tab and shift+tab went to the guest, not to focus
        assert app.fired == [] and app.unhandled == []
        assert expected["ctrl+c"] == b"\x03" and expected["ctrl+u"] == b"\x15" and expected["ctrl+d"] == b"\x04"

    hosted(session, guest.name, test)


def test_function_keys_and_alt_combinations_are_left_to_the_apps_bindings():
    session = session_of("compute")
    guest = session.guests[0]

    async def test(app, pilot):
        await pilot.press(*APP_KEYS, "f24", "ctrl+f3", "alt+ctrl+a")
        assert app.fired == list(APP_KEYS)
        assert app.unhandled == [*APP_KEYS, "f24", "ctrl+f3", "alt+ctrl+a"]  # all bubbled up to the app
        assert bytes(guest.input) == b""
        assert app.query_one(ConsolePane).has_focus

    hosted(session, guest.name, test)


def test_pasted_text_goes_to_the_guest_with_lines_ended_by_enter():
    session = session_of("compute")
    guest = session.guests[0]

    async def test(app, pilot):
        pane = app.query_one(ConsolePane)
        pane.post_message(events.Paste("echo one\necho two\r\n"))
        await pilot.pause()
        assert bytes(guest.input) == b"echo one\recho two\r"

    hosted(session, guest.name, test)


def test_typing_a_command_into_the_unix_shell_runs_it_and_its_output_shows():
    session, guest = booted_unix()
    terminal = session.terminals[guest.name]

    async def test(app, pilot):
        pane = app.query_one(ConsolePane)
        await pilot.press(*"echo hi", "enter")
        run_until(session, guest, lambda: terminal.text().endswith("$ echo hi\nhi\n$"))
        await settle(pane, pilot)
        y = terminal.screen.cursor.y
        assert [line_text(pane, y - 2), line_text(pane, y - 1), line_text(pane, y)] == ["$ echo hi", "hi", "$"]
        assert cells(pane, y)[2][1].reverse  # the cursor after the prompt

    hosted(session, guest.name, test)


def test_backspace_and_ctrl_u_edit_the_shells_line():
    session, guest = booted_unix()
    terminal = session.terminals[guest.name]

    async def test(app, pilot):
        await pilot.press(*"ecx", "backspace", *"ho hi", "enter")
        run_until(session, guest, lambda: terminal.text().endswith("\nhi\n$"))
        assert terminal.text().endswith("$ echo hi\nhi\n$")
        await pilot.press(*"garbage", "ctrl+u", *"echo ok", "enter")
        run_until(session, guest, lambda: terminal.text().endswith("\nok\n$"))
        assert terminal.text().endswith("$ echo hi\nhi\n$ echo ok\nok\n$")
        assert b"$ garbage" + b"\b \b" * 7 + b"echo ok\n" in bytes(guest.output)

    hosted(session, guest.name, test)


def test_ctrl_c_interrupts_spin_and_the_shell_carries_on():
    session, guest = booted_unix()
    terminal = session.terminals[guest.name]

    async def test(app, pilot):
        await pilot.press(*"spin", "enter")
        run_until(session, guest, lambda: "spin: pid" in terminal.text())
        for _ in range(50):  # it spins
            session.vmm.run_slice(guest)
        assert not terminal.text().endswith("$")
        await pilot.press("ctrl+c")
        run_until(session, guest, lambda: terminal.text().endswith("^C\n$"))
        await pilot.press(*"echo after", "enter")
        run_until(session, guest, lambda: terminal.text().endswith("$ echo after\nafter\n$"))
        assert app.fired == [] and app.unhandled == []  # ctrl+c was the guest's, not the app's

    hosted(session, guest.name, test)


# --- the grid -----------------------------------------------------------------------------


def test_the_grid_tiles_every_guest_titled_with_its_name_and_state_and_a_click_selects_one():
    session = session_of("compute", "compute", "hello")
    names = [g.name for g in session.guests]

    async def test(app, pilot):
        grid = app.query_one(ConsoleGrid)
        grid.refresh_from_session()
        await pilot.pause()
        tiles = list(app.query(ConsoleTile))
        assert [t.guest_name for t in tiles] == names
        assert [(t.name, t.border_title, t.border_subtitle) for t in tiles[:2]] == [
            (names[0], names[0], "running"), (names[1], names[1], "running")]
        hello = session.guests[2]
        run_until(session, hello, lambda: hello.state.finished)
        session.terminals[names[0]].feed(b"".join(b"row %d\n" % i for i in range(30)) + b"\x1b[31mlast")
        grid.refresh_from_session()
        await pilot.pause()
        assert tiles[2].border_subtitle == "halted"
        assert "Hello from hello" in line_text(tiles[2], 0)
        tile = tiles[0]  # a tile shows the bottom of its guest's screen, cut to the tile
        bottom = tile.size.height - 1
        assert line_text(tile, bottom) == "last" and line_text(tile, bottom - 1) == "row 29"
        assert cells(tile, bottom)[0][1].color.name == "red"
        await pilot.click(tiles[1])
        await pilot.pause()
        assert app.selected == [names[1]]
        session.remove(names[1])
        grid.refresh_from_session()
        await pilot.pause()
        assert [t.guest_name for t in app.query(ConsoleTile)] == [names[0], names[2]]

    hosted(session, names[0], test, grid=True)
