"""The trap log written to a file from the dashboard (Alt+W), in `tuivmm run
--trace-exits`'s format, and the log saying when it has let older lines go."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.ui.test_everyday import at_prompt, run_app, session_of, settle
from tuivmm.ui.dialogs import PromptDialog
from tuivmm.vmm import traplog as T
from tuivmm.vmm.traplog import TrapEvent, write_trace


def event(seq: int, detail: str = "") -> TrapEvent:
    return TrapEvent(seq, "unix", 100 + seq, 0x80000000 + 4 * seq, 1, 0x10500073, 2, T.WFI, T.SLEPT, detail)


def test_write_trace_writes_a_line_per_event_as_trace_exits_does(tmp_path):
    path = tmp_path / "traps.txt"
    events = [event(1), event(2, "x")]
    assert write_trace(events, path) == 2
    assert path.read_text().splitlines() == [events[0].describe(), events[1].describe()]
    assert "wfi" in path.read_text() and list(tmp_path.iterdir()) == [path]


def test_write_trace_replaces_a_file_only_once_the_new_one_is_whole(tmp_path):
    path = tmp_path / "traps.txt"
    path.write_text("kept\n")

    class Broken:
        def describe(self) -> str:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_trace([event(1), Broken()], path)
    assert path.read_text() == "kept\n"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left beside it
    with pytest.raises(OSError):
        write_trace([event(1)], tmp_path / "no" / "such" / "dir.txt")


def written_through_the_dashboard(tmp_path, answer: str):
    session = session_of("unix")
    result = {}

    async def body(pilot, app):
        notes = []
        show = app.notify
        app.notify = lambda message, **kw: notes.append((str(message), kw.get("severity"))) or show(message, **kw)
        at_prompt(session, "unix")
        await settle(pilot, app)
        await pilot.press("alt+w")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        app.screen.query_one(Input).value = answer
        await pilot.press("enter")
        await pilot.pause()
        result["shown"] = [e.describe() for e in app.traps.shown_events()]
        result["notes"] = notes

    run_app(session, body, (160, 50))
    return result


def test_alt_w_writes_the_lines_the_trap_log_shows(tmp_path):
    path = tmp_path / "unix-traps.txt"
    result = written_through_the_dashboard(tmp_path, str(path))
    lines = path.read_text().splitlines()
    assert len(lines) > 100 and lines == result["shown"]
    assert any(" mmio write " in line or ": mmio write" in line for line in lines)
    assert result["notes"][-1] == (f"wrote {len(lines):,} lines of the trap log to {path}", None)


def test_alt_w_to_a_place_that_cannot_be_written_says_so_in_one_line(tmp_path):
    path = tmp_path / "no-such-dir" / "traps.txt"
    result = written_through_the_dashboard(tmp_path, str(path))
    assert result["notes"][-1] == (f"{path}: No such file or directory", "error")
    assert not path.parent.exists()


def test_the_log_says_when_it_has_let_older_lines_go():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        status = str(app.traps._status)
        assert "older dropped" not in status and f"{len(app.traps.shown_events()):,} lines" in status
        app.traps.lines = 50  # a pane that keeps fewer lines than unix's boot made
        app.traps.set_reason(T.MMIO)  # read again
        await settle(pilot, app)
        assert len(app.traps.shown_events()) == 50
        assert "unix, mmio exits  ·  the last 50 lines (older dropped)" in str(app.traps._status)

    run_app(session, body, (160, 50))


def test_alt_w_on_a_small_terminal_writes_the_log_though_its_pane_is_not_shown(tmp_path):
    session = session_of("unix")
    path = tmp_path / "traps.txt"

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        assert app.plan.mode == "stacked" and not app.traps.display
        await pilot.press("alt+w")
        await pilot.pause()
        app.screen.query_one(Input).value = str(path)
        await pilot.press("enter")
        await pilot.pause()

    run_app(session, body, (80, 24))
    lines = path.read_text().splitlines()
    assert len(lines) > 100 and all(" unix " in line for line in lines)
