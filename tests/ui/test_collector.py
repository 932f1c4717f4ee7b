"""The dashboard keeps Python's full garbage-collection pass away from keystrokes
(tuivmm/ui/collector.py): what survives is frozen every tick, and the full pass runs
only after a quiet second, at most every EVERY_S, and at least every MOST_S."""

from __future__ import annotations

import asyncio
import gc

from tuivmm.lineup.file import lineup_from_names
from tuivmm.ui.app import TuivmmApp
from tuivmm.ui.collector import Collector
from tuivmm.ui.session import Session


class FakeGC:
    def __init__(self):
        self.calls: list[str] = []

    def freeze(self):
        self.calls.append("freeze")

    def unfreeze(self):
        self.calls.append("unfreeze")

    def collect(self):
        self.calls.append("collect")


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def started() -> tuple[Collector, FakeGC, Clock]:
    fake, clock = FakeGC(), Clock()
    collector = Collector(gc=fake, clock=clock)
    collector.start()
    assert fake.calls == ["freeze"]
    fake.calls.clear()
    return collector, fake, clock


def test_each_tick_freezes_what_survived_and_a_fresh_start_collects_nothing():
    collector, fake, clock = started()
    for _ in range(10):
        clock.now += 0.1
        collector.tick(last_key=0.0)
    assert fake.calls == ["freeze"] * 10
    assert collector.full_passes == 0


def test_the_full_pass_waits_for_a_quiet_second_after_a_key():
    collector, fake, clock = started()
    clock.now += Collector.EVERY_S + 5
    collector.tick(last_key=clock.now - 0.2)  # a key a moment ago: someone waits for its echo
    assert "collect" not in fake.calls
    clock.now += 0.5
    collector.tick(last_key=clock.now - 0.7)
    assert "collect" not in fake.calls
    clock.now += 0.5
    collector.tick(last_key=clock.now - 1.2)  # quiet now
    assert fake.calls[-3:] == ["unfreeze", "collect", "freeze"]
    assert collector.full_passes == 1 and collector.last_full == clock.now


def test_no_more_than_one_full_pass_every_EVERY_S():
    collector, _fake, clock = started()
    clock.now += Collector.EVERY_S
    collector.tick(last_key=0.0)
    assert collector.full_passes == 1
    clock.now += Collector.EVERY_S - 1
    collector.tick(last_key=0.0)
    assert collector.full_passes == 1
    clock.now += 1
    collector.tick(last_key=0.0)
    assert collector.full_passes == 2


def test_a_full_pass_at_least_every_MOST_S_however_busy_the_keyboard():
    collector, _fake, clock = started()
    while clock.now < 100.0 + Collector.MOST_S + 1:
        clock.now += 0.1
        collector.tick(last_key=clock.now)  # a key every tick, two minutes long
        if collector.full_passes:
            break
    assert collector.full_passes == 1
    assert clock.now >= 100.0 + Collector.MOST_S - 0.1


def test_stopped_it_gives_everything_back_and_ticks_do_nothing():
    collector, fake, clock = started()
    collector.stop()
    assert fake.calls == ["unfreeze"]
    clock.now += Collector.MOST_S * 2
    collector.tick(last_key=0.0)
    collector.stop()
    assert fake.calls == ["unfreeze"]


def test_the_dashboard_freezes_while_it_runs_and_unfreezes_when_it_ends():
    before = gc.get_freeze_count()
    session = Session(lineup_from_names(["hello"]), realtime=False)
    app = TuivmmApp(session, autostart=False, refresh_hz=20)
    seen = {}

    async def main():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.2)  # a few ticks
            seen["frozen"] = gc.get_freeze_count()
            await pilot.press("a")  # a key for the guest: the collector hears of it
            seen["key"] = session.last_key_at

    try:
        asyncio.run(main())
    finally:
        session.close()
    assert seen["frozen"] > before
    assert seen["key"] > 0
    assert gc.get_freeze_count() == before
