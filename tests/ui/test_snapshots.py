"""What the dashboard looks like, screen by screen (pytest-textual-snapshot).

Deterministic: the guests run on the VMM's instruction-counted clock (realtime off),
each to a fixed point before the app starts; the app neither starts their tasks nor
samples on a timer (only at the start and after each key), so nothing moves while
it is on screen: the rates are all zero and no wall clock is shown.

`pytest --snapshot-update tests/ui/test_snapshots.py` redraws them after a change
that is meant; look at the SVGs (tests/ui/__snapshots__/) before committing them.
"""

from __future__ import annotations

import pytest

from tuivmm.ui.app import TuivmmApp
from tuivmm.ui.lineup import default_lineup
from tuivmm.ui.session import GuestFigures, Session
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


def test_the_help_screen(snap_compare, still):
    assert snap_compare(still, press=["f1"], terminal_size=SIZE)


def test_the_second_guest_after_alt_2(snap_compare, still):
    assert snap_compare(still, press=["alt+2"], terminal_size=SIZE)
