"""The memory map, trap log and counters panes, hosted in a bare Textual app over a
Session whose guests are driven slice by slice (no live tasks), so every test is
deterministic."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult

from tuivmm.lineup.file import GuestSpec, Lineup
from tuivmm.ui.memory import MemoryPane, page_rows, pte_text, scale_cells, view_name
from tuivmm.ui.counters import CountersPane
from tuivmm.ui.session import Session
from tuivmm.ui.traps import (
    MAX_LINES,
    TrapLines,
    TrapLogPane,
    event_line,
    newer_events,
)
from tuivmm.vmm.traplog import MMIO

SECRET = 0x8000_4000  # eret-escape's kernel-only page


class Host(App):
    """One pane, filling the screen."""

    def __init__(self, pane):
        super().__init__()
        self.pane = pane

    def compose(self) -> ComposeResult:
        yield self.pane


@pytest.fixture
def session():
    s = Session(Lineup([GuestSpec("eret-escape"), GuestSpec("basic", ram_mib=64)]), realtime=False)
    assert not s.errors
    yield s
    s.close()


def run(session: Session, name: str, slices: int, cycles: int = 2000) -> None:
    guest = session.guest(name)
    for _ in range(slices):
        session.vmm.run_slice(guest, cycles)


def to_user_mode(session: Session) -> None:
    guest = session.guest("eret-escape")
    for _ in range(1000):
        if b"entering user mode" in guest.output:
            return
        session.vmm.run_slice(guest, 2000)
    raise AssertionError("eret-escape never entered user mode")


def hosted(pane, body, size=(140, 48)) -> None:
    async def main():
        app = Host(pane)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(pilot)

    asyncio.run(main())


def lines_of(pane: TrapLogPane) -> list[str]:
    return pane.query_one(TrapLines).line_texts()


# --- pure helpers --------------------------------------------------------------------------


def test_scale_cells_gives_every_region_a_cell_and_fills_the_width():
    assert scale_cells([32, 128, 64, 1824], 64) == [1, 4, 2, 57]
    assert sum(scale_cells([1, 1, 10_000], 10)) == 10
    assert scale_cells([1, 1, 10_000], 10)[:2] == [1, 1]
    assert scale_cells([5, 0, 5], 4) == [2, 0, 2]


def test_pte_text_and_view_names():
    assert pte_text(0xC7) == "rw-- ad"
    assert pte_text(0xDB) == "r-xu ad"
    assert [view_name(k) for k in [("m",), ("bare", 1), ("s", 0x80080007, False, False), ("u", 1, False)]] == [
        "M", "bare S", "S", "U"]  # fmt: skip


# --- memory map -------------------------------------------------------------------------------


def test_memory_pane_pictures_host_ram_by_owner_with_a_legend(session):
    run(session, "eret-escape", 5)
    pane = MemoryPane(session)

    async def body(pilot):
        pane.show("eret-escape")
        legend = pane.legend_text()
        lines = legend.splitlines()
        assert len(lines) == 5  # pool (and how full it is), two guests, free
        assert any("shadow pool" in line and "32 MiB" in line for line in lines)
        assert f"{session.vmm.pool.used} of {session.vmm.pool.pages} pages used" in legend
        assert any("eret-escape" in line and "128 MiB" in line and "selected" in line for line in lines)
        assert any("basic" in line and "64 MiB" in line for line in lines)
        assert any("free" in line and "MiB" in line for line in lines)
        bar = pane.bar_text().plain
        width = pane.query_one("#mem-bar").content_region.width
        assert len(bar) == width > 0
        assert bar.count("▓") >= 1  # the pool shows, though it is 1/64 of host RAM
        assert bar.count("█") >= 2  # each guest
        assert bar.endswith("░")  # free RAM at the top

    hosted(pane, body)


def test_memory_pane_lists_the_guest_physical_map(session):
    pane = MemoryPane(session)
    guest = session.guest("eret-escape")

    async def body(pilot):
        pane.show("eret-escape")
        table = pane.query_one("#mem-gpa")
        backing = str(table.get_cell("ram", "backing"))
        assert f"host {guest.window.host_base:#010x}" in backing
        assert str(table.get_cell("ram", "range")).startswith("0x80000000")
        assert "emulated" in str(table.get_cell("uart0", "backing"))
        pane.show("basic")
        assert f"host {session.guest('basic').window.host_base:#010x}" in str(table.get_cell("ram", "backing"))
        assert str(table.get_cell("ram", "size")) == "64 MiB"

    hosted(pane, body)


def test_page_tables_show_the_secret_page_and_the_filled_shadow(session):
    to_user_mode(session)
    guest = session.guest("eret-escape")
    lo, hi = guest.window.host_base, guest.window.host_base + guest.window.size
    pane = MemoryPane(session)

    async def body(pilot):
        pane.show("eret-escape")
        secret = pane.page_row(SECRET)
        assert secret["guest-physical"] == f"{SECRET:#010x}"
        assert secret["guest rwxu ad"].startswith("rw") and "u" not in secret["guest rwxu ad"]
        rows = pane.page_table()
        assert len(rows) == pane.query_one("#mem-pt").row_count
        filled = [row for row in rows if row["filled"] == "●"]
        assert filled and secret in filled
        for row in filled:
            assert lo <= int(row["host-physical"], 16) < hi
        assert [row["virtual"] for row in rows if row["guest rwxu ad"].startswith("r-xu")] == ["0x80001000"]
        info = pane.info_text()
        assert f"view {view_name(guest.context_key())}" in info
        assert f"hidden faults {guest.hidden_faults}" in info and f"true faults {guest.true_faults}" in info
        assert guest.hidden_faults > 0

        # "filled only" keeps just the shadow's entries
        pane.query_one("#mem-filled-only").value = True
        await pilot.pause()
        rows = pane.page_table()
        assert rows == filled
        assert pane.query_one("#mem-pt").row_count == len(rows) == len(page_rows(guest, filled_only=True)[0])

    hosted(pane, body)


def test_page_tables_follow_the_guest_as_it_runs(session):
    guest = session.guest("eret-escape")
    pane = MemoryPane(session)

    async def body(pilot):
        pane.interval = 0
        pane.show("eret-escape")
        before = pane.info_text()
        to_user_mode(session)
        pane.refresh_from_session()
        assert pane.info_text() != before
        assert f"hidden faults {guest.hidden_faults}" in pane.info_text()
        assert pane.page_row(SECRET) is not None

    hosted(pane, body)


# --- trap log -----------------------------------------------------------------------------------


def test_newer_events_reads_only_what_is_new(session):
    run(session, "eret-escape", 5)
    run(session, "basic", 5)
    logs = [g.log for g in session.guests]
    everything = newer_events(logs, -1)
    assert [e.seq for e in everything] == sorted(e.seq for log in logs for e in log.events)
    mark = everything[-1].seq
    assert newer_events(logs, mark) == []
    run(session, "basic", 3)
    new = newer_events(logs, mark)
    assert new and all(e.seq > mark for e in new)
    assert all(e.reason == MMIO for e in newer_events(logs, -1, MMIO))
    assert len(newer_events(logs, -1, limit=7)) == 7


def test_trap_log_appends_new_events_in_one_write_and_filters(session):
    pane = TrapLogPane(session)
    eret, basic = session.guest("eret-escape"), session.guest("basic")

    async def body(pilot):
        pane.show(None)
        assert lines_of(pane) == []
        run(session, "eret-escape", 14)
        run(session, "basic", 5)
        log = pane.query_one(TrapLines)
        writes = []
        original = log.append
        log.append = lambda events: (writes.append(len(events)), original(events))[1]
        pane.refresh_from_session()
        events = sorted([*eret.log.events, *basic.log.events], key=lambda e: e.seq)
        assert len(writes) == 1
        assert lines_of(pane) == [event_line(e).plain for e in events]
        shown = len(events)

        # more slices: only the new events are appended, again in one write
        run(session, "basic", 5)
        pane.refresh_from_session()
        pane.refresh_from_session()  # nothing new: nothing written
        assert len(writes) == 2
        new = [e for e in basic.log.events if e.seq > events[-1].seq]
        assert new and len(lines_of(pane)) == shown + len(new)
        assert lines_of(pane)[-1] == event_line(new[-1]).plain
        assert lines_of(pane)[-1].startswith("basic")

        # by exit kind: only mmio lines
        pane.set_reason(MMIO)
        await pilot.pause()
        mmio = sorted([e for g in (eret, basic) for e in g.log.events if e.reason == MMIO], key=lambda e: e.seq)
        assert mmio and lines_of(pane) == [event_line(e).plain for e in mmio]
        assert all(" mmio " in line for line in lines_of(pane))

        # by guest: the selected one, or all of them with the checkbox
        pane.set_reason(None)
        pane.show("basic")
        assert lines_of(pane) and all(line.startswith("basic ") for line in lines_of(pane))
        assert len(lines_of(pane)) == len(basic.log.events)
        pane.query_one("#trap-all").value = True
        await pilot.pause()
        assert len(lines_of(pane)) == len(basic.log.events) + len(eret.log.events)

    hosted(pane, body)


def test_trap_log_stops_following_when_scrolled_up(session):
    pane = TrapLogPane(session)

    async def body(pilot):
        pane.show("eret-escape")
        run(session, "eret-escape", 14)
        pane.refresh_from_session()
        await pilot.pause()
        log = pane.query_one(TrapLines)
        assert log.max_scroll_y > 0
        assert pane.following and log.scroll_y == log.max_scroll_y

        log.focus()
        await pilot.press("home")
        await pilot.pause()
        assert not pane.following
        count = len(log.events)
        run(session, "eret-escape", 2)
        pane.refresh_from_session()
        await pilot.pause()
        assert len(log.events) > count
        assert log.scroll_y == 0 and not pane.following
        assert "held" in str(pane._status)

        await pilot.press("end")  # back at the bottom: following again
        await pilot.pause()
        assert pane.following and log.scroll_y == log.max_scroll_y
        count = len(log.events)
        run(session, "eret-escape", 2)
        pane.refresh_from_session()
        await pilot.pause()
        assert len(log.events) > count and log.scroll_y == log.max_scroll_y

        await pilot.click("#trap-follow")  # the hold button: hold where it is
        assert not pane.following
        await pilot.pause(0.3)  # the button's pressed look is over
        await pilot.click("#trap-follow")  # and follow again
        await pilot.pause()
        assert pane.following and log.scroll_y == log.max_scroll_y

    hosted(pane, body)


def test_trap_log_keeps_at_most_max_lines(session):
    pane = TrapLogPane(session, lines=300)

    async def body(pilot):
        pane.show("eret-escape")
        to_user_mode(session)
        assert len(session.guest("eret-escape").log.events) > 300
        pane.refresh_from_session()
        assert len(lines_of(pane)) == 300
        assert lines_of(pane)[-1] == event_line(session.guest("eret-escape").log.events[-1]).plain

        # held, a reader keeps their lines in view while old ones leave the top
        log = pane.query_one(TrapLines)
        await pilot.pause()
        log.scroll_to(y=log.max_scroll_y - 5, animate=False)
        await pilot.pause()
        assert not pane.following
        top = log.events[round(log.scroll_y)]
        run(session, "eret-escape", 1)  # 200 more
        pane.refresh_from_session()
        await pilot.pause()
        assert len(log.events) == 300 and log.events[round(log.scroll_y)] == top

    assert MAX_LINES == 2000
    hosted(pane, body)


def test_hidden_panes_do_no_work_and_catch_up_when_shown(session):
    pane = TrapLogPane(session)

    async def body(pilot):
        pane.show("eret-escape")
        pane.display = False
        run(session, "eret-escape", 3)
        pane.refresh_from_session()
        assert lines_of(pane) == []
        pane.display = True
        await pilot.pause()
        pane.refresh_from_session()
        assert len(lines_of(pane)) == len(session.guest("eret-escape").log.events)

    hosted(pane, body)


# --- counters --------------------------------------------------------------------------------


def test_counters_show_totals_rates_and_a_sparkline(session):
    pane = CountersPane(session)
    guest = session.guest("eret-escape")

    async def body(pilot):
        pane.interval = 0
        pane.show("eret-escape")
        spark = pane.query_one("#ctr-spark")
        run(session, "eret-escape", 3)
        session.sample(now=10.0)
        pane.refresh_from_session()
        assert list(spark.data) == []
        before = guest.log.total
        run(session, "eret-escape", 10)
        session.sample(now=10.5)
        pane.refresh_from_session()
        table = pane.query_one("#ctr-table")
        for reason, count in guest.log.counts.items():
            assert int(str(table.get_cell(reason, "total")).replace(",", "")) == count
        assert int(str(table.get_cell("total", "total")).replace(",", "")) == guest.log.total
        rates = session.figures["eret-escape"].exit_rates
        assert str(table.get_cell(MMIO, "per second")).replace(",", "") == f"{rates[MMIO]:.0f}"
        assert list(spark.data) == [pytest.approx((guest.log.total - before) / 0.5)]
        session.sample(now=11.0)
        pane.refresh_from_session()
        assert len(spark.data) == 2 and spark.data[-1] == 0

    hosted(pane, body)
