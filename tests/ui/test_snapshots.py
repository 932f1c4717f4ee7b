"""What the dashboard looks like, screen by screen (pytest-textual-snapshot).

Deterministic: the guests run on the VMM's instruction-counted clock (realtime off),
each to a fixed point before the app starts; the app neither starts their tasks nor
samples on a timer (only at the start and after each key), so nothing moves while
it is on screen: the rates are all zero and no wall clock is shown.

`pytest --snapshot-update tests/ui/test_snapshots.py` redraws them after a change
that is meant; look at the SVGs (tests/ui/__snapshots__/) before committing them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from tuivmm.lineup.file import GuestSpec, Lineup, default_lineup
from tuivmm.ui.app import TuivmmApp
from tuivmm.ui.console import ConsolePane
from tuivmm.ui.counters import CountersPane
from tuivmm.ui.memory import MemoryPane
from tuivmm.ui.session import GuestFigures, Session
from tuivmm.ui.traps import TrapLogPane
from tuivmm.vmm import GuestState

SIZE = (160, 50)

# What each guest of the default lineup shows last when it has booted.
BOOTED = {"unix": "$", "unix-2": "$", "basic": "READY.", "eret-escape": "ERET-ESCAPE: PROTECTED"}
MAX_SLICES = 200


@pytest.fixture(scope="module")
def booted() -> Session:
    """The default lineup, every guest run slice by slice until it has booted."""
    session = Session(default_lineup(), realtime=False)
    for guest in session.guests:
        terminal = session.terminals[guest.name]
        for _ in range(MAX_SLICES):
            if terminal.text().endswith(BOOTED[guest.name]) or guest.state.finished:
                break
            session.vmm.run_slice(guest)
        assert terminal.text().endswith(BOOTED[guest.name]), (guest.name, terminal.text())
    assert session.guest("eret-escape").state is GuestState.HALTED
    session.notices.clear()  # the throwaway-disk notes name temporary paths
    yield session
    session.close()


@pytest.fixture
def still(booted) -> TuivmmApp:
    """The dashboard on the booted guests, with the figures of earlier apps forgotten."""
    for name in booted.figures:
        booted.figures[name] = GuestFigures()
    return TuivmmApp(booted, autostart=False, refresh_hz=None)


def test_the_main_screen(snap_compare, still):
    assert snap_compare(still, terminal_size=SIZE)


def test_every_console_tiled(snap_compare, still):
    assert snap_compare(still, press=["f4"], terminal_size=SIZE)


def test_the_main_screen_on_an_80_by_24_terminal(snap_compare, still):
    assert snap_compare(still, terminal_size=(80, 24))


def test_the_trap_log_on_an_80_by_24_terminal(snap_compare, still):
    assert snap_compare(still, press=["alt+t"], terminal_size=(80, 24))


def test_every_console_tiled_on_an_80_by_24_terminal(snap_compare, still):
    assert snap_compare(still, press=["f4"], terminal_size=(80, 24))


def test_the_main_screen_on_a_200_by_55_terminal(snap_compare, still):
    assert snap_compare(still, terminal_size=(200, 55))


def test_the_flaw_dialog(snap_compare, still):
    assert snap_compare(still, press=["alt+e"], terminal_size=SIZE)


def test_the_help_screen(snap_compare, still):
    assert snap_compare(still, press=["f1"], terminal_size=SIZE)


def test_the_second_guest_after_alt_2(snap_compare, still):
    assert snap_compare(still, press=["alt+2"], terminal_size=SIZE)


def test_the_page_table_browser_on_a_200_by_55_terminal(snap_compare, still):
    assert snap_compare(still, press=["alt+a"], terminal_size=(200, 55))


def test_the_page_table_browser_on_an_80_by_24_terminal(snap_compare, still):
    assert snap_compare(still, press=["alt+a"], terminal_size=(80, 24))


# --- each pane by itself, the remedy picker, a crashed guest -------------------------------


class PaneHost(App):
    """One pane of the dashboard filling the screen, showing `guest`; the app's own
    stylesheet, so it looks as it does in the dashboard."""

    CSS_PATH = str(Path(sys.modules[TuivmmApp.__module__].__file__).with_name(TuivmmApp.CSS_PATH))

    def __init__(self, pane, guest: str):
        super().__init__()
        self.pane, self.guest = pane, guest

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_mount(self) -> None:
        self.pane.border_title = self.pane.id
        self.pane.show(self.guest)


@pytest.mark.parametrize(
    ("pane", "wid", "guest"),
    [(MemoryPane, "memory", "unix"), (TrapLogPane, "traps", "eret-escape"), (CountersPane, "counters", "unix"),
     (ConsolePane, "console", "basic")],
)  # fmt: skip
def test_each_pane(snap_compare, booted, pane, wid, guest):
    app = PaneHost(pane(booted, id=wid), guest)
    assert snap_compare(app, terminal_size=(120, 60))


def test_the_trap_log_filtered_to_csr_exits_of_every_guest(snap_compare, still):
    async def filter_it(pilot) -> None:
        pane = pilot.app.query_one(TrapLogPane)
        pane.set_reason("csr")
        pane.query_one("#trap-all").value = True
        await pilot.pause()  # (no app.refresh_view(): a second sample would give the counters a history)
        pane.refresh_from_session()

    assert snap_compare(still, run_before=filter_it, terminal_size=SIZE)


def test_the_remedy_picker(snap_compare, still):
    assert snap_compare(still, press=["alt+4", "f10", *"remedy"], terminal_size=SIZE)


# A guest that says goodbye on its console, then jumps to where there is nothing: the
# fetch fault goes to its trap vector, which is nowhere either, so it traps again and
# again and the VMM stops it ("stuck").
CRASH = """
        li   t0, 0x10000000
        la   t1, message
1:      lbu  t2, 0(t1)
        beqz t2, 2f
        sb   t2, 0(t0)
        addi t1, t1, 1
        j    1b
2:      li   t0, 0x40000000
        jr   t0
message:
        .asciz "crasher: jumping to 0x40000000, where there is no memory\\n"
"""

@pytest.fixture(scope="module")
def crashed() -> Session:
    from machine.cpu.asm import assemble

    session = Session(Lineup([GuestSpec("hello", net=False)]), realtime=False)
    guest = session.vmm.add_guest(program=assemble(CRASH), name="crasher", ram_size=1 << 20, net=False)
    session._attach(guest)
    for g in session.guests:
        for _ in range(MAX_SLICES):
            if g.state.finished:
                break
            session.vmm.run_slice(g)
    assert guest.state is GuestState.CRASHED, (guest.state, guest.reason)
    session.notices.clear()
    yield session
    session.close()


def test_a_crashed_guest(snap_compare, crashed):
    for name in crashed.figures:
        crashed.figures[name] = GuestFigures()
    app = TuivmmApp(crashed, autostart=False, refresh_hz=None)
    assert snap_compare(app, press=["alt+2"], terminal_size=SIZE)


# --- the lecture's gotcha four ways, compared ------------------------------------------------------


@pytest.fixture(scope="module")
def gotcha() -> Session:
    """The shipped lineup `gotcha`, every guest run to its verdict."""
    from tuivmm.lineup.file import load_lineup

    session = Session(load_lineup("gotcha"), realtime=False)
    session.vmm.run(max_rounds=2000)
    assert all(g.state is GuestState.HALTED for g in session.guests)
    yield session
    session.close()


def test_the_gotcha_four_ways_side_by_side(snap_compare, gotcha):
    app = TuivmmApp(gotcha, autostart=False, refresh_hz=None)

    async def compare(pilot) -> None:
        await pilot.pause()
        app.clear_notifications()  # the note that names Alt+L
        await pilot.pause()
        await pilot.press("alt+l")

    assert snap_compare(app, run_before=compare, terminal_size=SIZE)


# --- the registers pane after a step ------------------------------------------------------


@pytest.fixture(scope="module")
def busy_unix() -> Session:
    """`unix` running `ps`: stepping it changes registers (its own session, so the
    booted guests the other snapshots show are not stepped)."""
    session = Session(Lineup([GuestSpec("unix", net=False)]), realtime=False)
    guest = session.guest("unix")
    for _ in range(MAX_SLICES):
        if session.terminals["unix"].text().endswith("$"):
            break
        session.vmm.run_slice(guest)
    session.send_keys("unix", b"ps\r")
    for _ in range(3):
        session.vmm.run_slice(guest)
    assert guest.state is GuestState.RUNNING, (guest.state, guest.reason)
    session.notices.clear()  # the throwaway disk's note names a temporary path
    yield session
    session.close()


def test_the_registers_after_a_step_on_an_80_by_24_terminal(snap_compare, busy_unix):
    """Alt+V, then F5 and F6: the pc and what the one instruction changed, marked."""
    for name in busy_unix.figures:
        busy_unix.figures[name] = GuestFigures()
    app = TuivmmApp(busy_unix, autostart=False, refresh_hz=None)
    assert snap_compare(app, press=["alt+v", "f5", "f6"], terminal_size=(80, 24))
