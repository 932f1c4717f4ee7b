"""Cost of the dashboard: how fast a keystroke echoes, how often the screen refreshes,
and how much guest throughput the UI takes, with several busy guests.

    python3 bench/dashboard.py [--guests 4,8] [--keys 30] [--minimal]

For each guest count N: N unix guests (128 MiB, no NIC), the first one idle at its
shell prompt, every other one running `bench 1000` (again and again: ~20 s of
guest work each time), all as asyncio tasks on one event loop, realtime, as the
dashboard runs them.

  dashboard  the real app (tuivmm.ui.app.TuivmmApp; with --minimal, or if it
             cannot be imported or fails, a stand-in App with just a ConsolePane and
             a 10 Hz timer calling session.sample() and pane.refresh_from_session(),
             and the output says so) under Textual's headless `run_test()`, 160 x 50, the
             first guest's console focused.  Once all benches run, --keys keys are
             typed into it one at a time with `pilot.press` (then Ctrl+U clears the
             line).  For each key:
               echo     from the press to the character on the guest's Terminal
                        (the guest has taken the UART interrupt and echoed it);
               drawn    ... to the character in the line the ConsolePane drew
                        (render_line, as the compositor asks for it).
             Over the same window (each press waits, as the pilot does, until the
             app is idle or 1 s, so ~2 s a key): refresh ticks per second (the app
             asks for 10), the time a tick takes (the app's whole refresh, and the
             console pane's part), console lines drawn, and total guest MIPS.
  headless   then the same guests started by `Session.start()` with no UI on the
             loop, measured as long as the dashboard's window, twice (before and
             after `as run`, as the host's speed drifts): total guest MIPS, the mean.
  as run     the same guests as `tuivmm run` runs them (Session(realtime=False): the
             VMM's 20k-cycle / 200-exit slices, virtual time), as long: total MIPS.
  ratio      dashboard MIPS / headless MIPS, and / `tuivmm run` MIPS.

Times are host wall-clock (time.perf_counter).  The host is shared and small: the
figures vary by 10-20% between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App, ComposeResult

from tuivmm.lineup.file import GuestSpec, Lineup
from tuivmm.ui.console import ConsolePane
from tuivmm.ui.session import Session

SIZE = (160, 50)
BENCH = b"bench 1000\n"
BOOT_TIMEOUT = 180.0
KEYS = string.ascii_lowercase + string.digits


class MinimalDashboard(App):
    """The stand-in: a ConsolePane on the first guest, refreshed at 10 Hz."""

    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self.console_pane = ConsolePane(session, id="console")

    def compose(self) -> ComposeResult:
        yield self.console_pane

    def on_mount(self) -> None:
        self.console_pane.show(self.session.guests[0].name)
        self.console_pane.focus()
        self.session.start()
        self.set_interval(0.1, self.refresh_view)

    def refresh_view(self) -> None:
        self.session.sample()
        self.console_pane.refresh_from_session()


def make_app(session: Session, minimal: bool) -> tuple[App, str]:
    if not minimal:
        try:
            from tuivmm.ui.app import TuivmmApp
        except ImportError as exc:
            return MinimalDashboard(session), f"minimal stand-in App (tuivmm.ui.app: {exc})"
        return TuivmmApp(session), "tuivmm.ui.app.TuivmmApp"
    return MinimalDashboard(session), "minimal stand-in App (ConsolePane + 10 Hz timer), --minimal"


class Timed:
    """Wraps a callable: how often it ran and for how long."""

    def __init__(self, fn):
        self.fn, self.calls, self.seconds = fn, 0, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.calls += 1
            self.seconds += time.perf_counter() - start

    def snapshot(self) -> tuple[int, float]:
        return self.calls, self.seconds


def lineup(n: int) -> Lineup:
    return Lineup([GuestSpec("unix", net=False) for _ in range(n)])


def total_instructions(session: Session) -> int:
    return sum(g.instructions for g in session.guests)


async def until(condition, what: str, timeout: float = BOOT_TIMEOUT) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit(f"gave up after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def make_busy(session: Session) -> None:
    """Wait for every shell prompt, then start `bench 1000` on all guests but the first."""
    terminals = [session.terminals[g.name] for g in session.guests]
    await until(lambda: all(t.text().endswith("$") for t in terminals), "every guest's shell prompt")
    for guest in session.guests[1:]:
        guest.send_input(BENCH * 20, interactive=False)
    await until(lambda: all("$ bench 1000" in t.text() for t in terminals[1:]), "the benches to start")
    await asyncio.sleep(1.0)


async def headless(n: int, seconds: float, *, realtime: bool = True) -> float:
    """Total guest MIPS with no UI.  realtime: the dashboard's Session as it is (5k-cycle
    slices, sleep kept to the wall clock); not: as `tuivmm run` runs guests (the VMM's
    own 20k-cycle / 200-exit slices, virtual time)."""
    session = Session(lineup(n), realtime=realtime)
    try:
        session.start()
        await make_busy(session)
        start, before = time.perf_counter(), total_instructions(session)
        await asyncio.sleep(seconds)
        return (total_instructions(session) - before) / (time.perf_counter() - start) / 1e6
    finally:
        session.close()


def drawn_text(pane: ConsolePane, y: int) -> str:
    strip = pane._strips.get(y)
    return strip.text.rstrip() if strip is not None else ""


async def dashboard(n: int, keys: int, minimal: bool) -> dict:
    session = Session(lineup(n))
    app, what = make_app(session, minimal)
    tick = app.refresh_view = Timed(app.refresh_view)  # before on_mount sets the timer on it
    try:
        async with app.run_test(size=SIZE) as pilot:
            pane = app.query_one(ConsolePane)
            pane_refresh = pane.refresh_from_session = Timed(pane.refresh_from_session)
            await make_busy(session)
            first = session.guests[0]
            terminal = session.terminals[first.name]
            assert app.focused is pane and pane.guest_name == first.name, "the first guest's console has no focus"
            echo, drawn = [], []
            start, before = time.perf_counter(), total_instructions(session)
            ticks0, pane0, redraws0 = tick.snapshot(), pane_refresh.snapshot(), pane.redraws
            typed = ""
            for ch in KEYS[:keys]:
                typed += ch
                y = terminal.screen.cursor.y
                pressed = time.perf_counter()
                press = asyncio.create_task(pilot.press(ch))
                t_echo = t_drawn = None
                while t_echo is None or t_drawn is None:
                    now = time.perf_counter()
                    if now - pressed > 10:
                        raise SystemExit(f"no echo of {ch!r} after 10 s: {terminal.text()[-200:]!r}")
                    if t_echo is None and terminal.screen.display[y].rstrip().endswith(typed):
                        t_echo = now
                    if t_drawn is None and drawn_text(pane, y).endswith(typed):
                        t_drawn = now
                    await asyncio.sleep(0.0005)
                echo.append(t_echo - pressed)
                drawn.append(t_drawn - pressed)
                await press
            elapsed = time.perf_counter() - start
            mips = (total_instructions(session) - before) / elapsed / 1e6
            ticks = tick.calls - ticks0[0], tick.seconds - ticks0[1]
            pane_calls = pane_refresh.calls - pane0[0], pane_refresh.seconds - pane0[1]
            redraws = pane.redraws - redraws0
            await pilot.press("ctrl+u")
    finally:
        session.close()
    return {"app": what, "echo": echo, "drawn": drawn, "window": elapsed, "mips": mips, "ticks": ticks,
            "pane": pane_calls, "redraws": redraws}  # fmt: skip


def line(label: str, value: str) -> None:
    print(f"{label:<44s} {value}", flush=True)


def ms(values: list[float]) -> str:
    p90, p99 = (statistics.quantiles(values, n=100, method="inclusive")[q - 1] for q in (90, 99))
    return (f"median {statistics.median(values) * 1e3:6.1f} ms, p90 {p90 * 1e3:6.1f} ms, p99 {p99 * 1e3:6.1f} ms, "
            f"worst {max(values) * 1e3:6.1f} ms")


async def measure(n: int, keys: int, minimal: bool) -> None:
    try:
        d = await dashboard(n, keys, minimal)
    except Exception as exc:  # the app may be half-built while it is being written
        if minimal:
            raise
        line(f"{n} guests: the real app failed", f"{type(exc).__name__}: {str(exc)[:80]}")
        d = await dashboard(n, keys, True)
        d["app"] = "minimal stand-in App (ConsolePane + 10 Hz timer): the real app failed"
    # The host's speed drifts from minute to minute: the headless figure is the mean of
    # one window right after the dashboard's and one after that of `tuivmm run`.
    before = await headless(n, d["window"])
    as_run = await headless(n, d["window"], realtime=False)
    after = await headless(n, d["window"])
    base = (before + after) / 2
    line(f"{n} guests: dashboard app", d["app"])
    line(f"{n} guests: keystroke to echo (Terminal)", f"{ms(d['echo'])} ({len(d['echo'])} keys)")
    line(f"{n} guests: keystroke to drawn (ConsolePane)", ms(d["drawn"]))
    calls, secs = d["ticks"]
    line(f"{n} guests: refresh ticks", f"{calls / d['window']:7.2f} per s (asked: 10), "
                                       f"{secs / max(calls, 1) * 1e3:.2f} ms each")  # fmt: skip
    pcalls, psecs = d["pane"]
    line(f"{n} guests: console pane refresh", f"{psecs / max(pcalls, 1) * 1e6:7.1f} us per call ({pcalls} calls), "
                                              f"{d['redraws']} lines drawn")  # fmt: skip
    line(f"{n} guests: with the dashboard", f"{d['mips']:7.3f} MIPS total ({d['window']:.0f} s)")
    line(f"{n} guests: headless", f"{base:7.3f} MIPS total (mean of {before:.3f} and {after:.3f}, "
                                  f"{d['window']:.0f} s each)")  # fmt: skip
    line(f"{n} guests: dashboard / headless", f"{d['mips'] / base:7.3f}")
    line(f"{n} guests: as `tuivmm run` (20k slices)", f"{as_run:7.3f} MIPS total ({d['window']:.0f} s)")
    line(f"{n} guests: dashboard / `tuivmm run`", f"{d['mips'] / as_run:7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guests", default="4,8", help="guest counts, comma-separated (default 4,8)")
    parser.add_argument("--keys", type=int, default=30, help=f"keys typed per run (at most {len(KEYS)})")
    parser.add_argument("--minimal", action="store_true", help="a stand-in App instead of the real dashboard")
    args = parser.parse_args()
    keys = max(1, min(args.keys, len(KEYS)))
    start = time.perf_counter()
    print(f"python {sys.version.split()[0]}, {SIZE[0]}x{SIZE[1]} headless Textual, unix guests busy with "
          f"`bench 1000` but the first")  # fmt: skip
    for n in (int(x) for x in args.guests.split(",")):
        asyncio.run(measure(n, keys, args.minimal))
    print(f"(took {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
