"""Cost of the dashboard: how fast a keystroke echoes, how often the screen refreshes,
and how much guest throughput the UI takes, with several busy guests.

    python3 bench/dashboard.py [--guests 4,8] [--keys 30] [--window 40] [--minimal]

For each guest count N: N unix guests (128 MiB, no NIC), the first one idle at its
shell prompt, every other one running `bench 1000` (again and again: ~20 s of
guest work each time), all as asyncio tasks on one event loop, realtime, as the
dashboard runs them.

  dashboard  the real app (tuivmm.ui.app.TuivmmApp; with --minimal, or if it
             cannot be imported or fails, a stand-in App with just a ConsolePane and
             a 10 Hz timer calling session.sample() and pane.refresh_from_session(),
             and the output says so) under Textual's headless `run_test()`, 160 x 50, the
             first guest's console focused.  Once all benches run:
    watching for --window seconds nothing is typed (a user watching the guests):
             total guest MIPS;
    typing   then --keys keys are typed into the console one at a time with
             `pilot.press` (Ctrl+U clears the line after each 36).  For each key:
               echo     from the press to the character on the guest's Terminal
                        (the guest has taken the UART interrupt and echoed it);
               drawn    ... to the character in the line the ConsolePane drew
                        (render_line, as the compositor asks for it).
             The bench looks for both every millisecond, reading one row.  Over
             this window (each press waits, as the pilot does, until the app is
             idle or 1 s, so ~2 s a key): refresh ticks per second (the app asks
             for 10), the time a tick takes (the app's whole refresh, and the
             console pane's part), console lines drawn, total guest MIPS (the
             bench's own looking included), and the garbage collector's pauses
             of more than 10 ms (gc.callbacks).
  headless   beside it all along, in a second process (on the other core when
             there are two), the same guests started by `Session.start()` with no
             UI: total guest MIPS over the very same windows.  The host is shared and
             its speed drifts by 10-20% from minute to minute, so the two are only
             compared over the same seconds.
  as run     then, the same way, the guests as `tuivmm run` runs them (Session(
             realtime=False): the VMM's 20k-cycle / 200-exit slices, virtual time) in
             this process, beside headless in the other, for --window seconds.
  ratio      dashboard MIPS (watching, and typing) / headless MIPS, and as run /
             headless.  Each MIPS figure is also given per second of its process's
             CPU time, which leaves out what other tenants of the host took.

Times are host wall-clock (time.perf_counter).  The host is shared and small: the
figures vary by 10-20% between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import string
import subprocess
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


class Window:
    """Guest MIPS from now on, per second of wall time and per second of this process's
    CPU time (the host is shared: the second does not count what other tenants take)."""

    def __init__(self, session: Session):
        self.session = session
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.instructions = total_instructions(session)

    def mips(self) -> tuple[float, float]:
        done = (total_instructions(self.session) - self.instructions) / 1e6
        return done / (time.perf_counter() - self.wall), done / (time.process_time() - self.cpu)


async def partner_main(n: int, realtime: bool, cpu: int | None) -> None:
    """The second process: N guests with no UI, a Window each time the first says "start"."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    session = Session(lineup(n), realtime=realtime)
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    try:
        session.start()
        await make_busy(session)
        print("ready", flush=True)
        window = None
        while command := (await commands.readline()).decode().strip():
            if command == "start":
                window = Window(session)
            elif command == "stop" and window is not None:
                wall, cpu = window.mips()
                print(f"{wall:f} {cpu:f}", flush=True)
    finally:
        session.close()


class Partner:
    """The second process, seen from the first: start and stop its windows with ours."""

    def __init__(self, n: int, *, realtime: bool = True):
        cpu = ["--cpu", "1"] if PINNED else []
        mode = [] if realtime else ["--as-run"]
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--partner", str(n), *mode, *cpu],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    async def ready(self) -> None:
        line = await asyncio.to_thread(self.proc.stdout.readline)
        if line.strip() != "ready":
            raise SystemExit(f"the headless partner did not start (it said {line!r})")

    def _say(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def start(self) -> None:
        self._say("start")

    def stop(self) -> tuple[float, float]:
        self._say("stop")
        wall, cpu = self.proc.stdout.readline().split()
        return float(wall), float(cpu)

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


PINNED = False  # set by main: this process on CPU 0, the partner on CPU 1


def row_text(terminal, y: int) -> str:
    """Row y of the guest's screen (one row, not pyte's whole `display`: the bench looks often)."""
    row, columns = terminal.screen.buffer[y], terminal.screen.columns
    return "".join(row[x].data for x in range(columns)).rstrip()


class Pauses:
    """The garbage collector's passes, as gc.callbacks sees them: those over 10 ms."""

    def __init__(self):
        self.long: list[float] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        elif (took := time.perf_counter() - self._start) > 0.010:
            self.long.append(took)


def drawn_text(pane: ConsolePane, y: int) -> str:
    strip = pane._strips.get(y)
    return strip.text.rstrip() if strip is not None else ""


async def dashboard(n: int, keys: int, window: float, minimal: bool) -> dict:
    partner = Partner(n)
    session = Session(lineup(n))
    app, what = make_app(session, minimal)
    tick = app.refresh_view = Timed(app.refresh_view)  # before on_mount sets the timer on it
    pauses = Pauses()
    gc.callbacks.append(pauses)
    try:
        async with app.run_test(size=SIZE) as pilot:
            pane = app.query_one(ConsolePane)
            pane_refresh = pane.refresh_from_session = Timed(pane.refresh_from_session)
            await make_busy(session)
            await partner.ready()
            watch = Window(session)
            partner.start()
            await asyncio.sleep(window)
            watching, watching_beside = watch.mips(), partner.stop()
            watching_pauses, pauses.long = pauses.long, []
            first = session.guests[0]
            terminal = session.terminals[first.name]
            assert app.focused is pane and pane.guest_name == first.name, "the first guest's console has no focus"
            echo, drawn = [], []
            start, typing = time.perf_counter(), Window(session)
            partner.start()
            ticks0, pane0, redraws0 = tick.snapshot(), pane_refresh.snapshot(), pane.redraws
            typed, y = "", terminal.screen.cursor.y
            for i in range(keys):
                if i and i % len(KEYS) == 0:  # a line of them: clear it, and type on
                    await pilot.press("ctrl+u")
                    await until(lambda row=y: row_text(terminal, row).endswith("$"), "Ctrl+U to clear the line", 10)
                    typed = ""
                ch = KEYS[i % len(KEYS)]
                typed += ch
                y = terminal.screen.cursor.y
                pressed = time.perf_counter()
                press = asyncio.create_task(pilot.press(ch))
                t_echo = t_drawn = None
                while t_echo is None or t_drawn is None:
                    now = time.perf_counter()
                    if now - pressed > 10:
                        raise SystemExit(f"no echo of {ch!r} after 10 s: {terminal.text()[-200:]!r}")
                    if t_echo is None and row_text(terminal, y).endswith(typed):
                        t_echo = now
                    if t_drawn is None and drawn_text(pane, y).endswith(typed):
                        t_drawn = now
                    await asyncio.sleep(0.001)
                echo.append(t_echo - pressed)
                drawn.append(t_drawn - pressed)
                await press
            elapsed = time.perf_counter() - start
            mips, typing_beside = typing.mips(), partner.stop()
            ticks = tick.calls - ticks0[0], tick.seconds - ticks0[1]
            pane_calls = pane_refresh.calls - pane0[0], pane_refresh.seconds - pane0[1]
            redraws = pane.redraws - redraws0
            await pilot.press("ctrl+u")
    finally:
        gc.callbacks.remove(pauses)
        session.close()
        partner.close()
    return {"app": what, "echo": echo, "drawn": drawn, "window": elapsed, "mips": mips, "ticks": ticks,
            "pane": pane_calls, "redraws": redraws, "watching": watching,
            "watching_beside": watching_beside, "typing_beside": typing_beside, "watching_pauses": watching_pauses,
            "typing_pauses": pauses.long}  # fmt: skip


def line(label: str, value: str) -> None:
    print(f"{label:<44s} {value}", flush=True)


def ms(values: list[float]) -> str:
    p90, p99 = (statistics.quantiles(values, n=100, method="inclusive")[q - 1] for q in (90, 99))
    return (
        f"median {statistics.median(values) * 1e3:6.1f} ms, p90 {p90 * 1e3:6.1f} ms, p99 {p99 * 1e3:6.1f} ms, "
        f"worst {max(values) * 1e3:6.1f} ms"
    )


def gc_pauses(values: list[float]) -> str:
    if not values:
        return "none over 10 ms"
    return f"{len(values)} over 10 ms, longest {max(values) * 1e3:.0f} ms"


async def measure(n: int, keys: int, window: float, minimal: bool) -> None:
    try:
        d = await dashboard(n, keys, window, minimal)
    except Exception as exc:  # the app may be half-built while it is being written
        if minimal:
            raise
        line(f"{n} guests: the real app failed", f"{type(exc).__name__}: {str(exc)[:80]}")
        d = await dashboard(n, keys, window, True)
        d["app"] = "minimal stand-in App (ConsolePane + 10 Hz timer): the real app failed"
    as_run, beside = await as_run_beside_headless(n, window)
    line(f"{n} guests: dashboard app", d["app"])
    line(f"{n} guests: keystroke to echo (Terminal)", f"{ms(d['echo'])} ({len(d['echo'])} keys)")
    line(f"{n} guests: keystroke to drawn (ConsolePane)", ms(d["drawn"]))
    calls, secs = d["ticks"]
    line(f"{n} guests: refresh ticks", f"{calls / d['window']:7.2f} per s (asked: 10), "
                                       f"{secs / max(calls, 1) * 1e3:.2f} ms each")  # fmt: skip
    pcalls, psecs = d["pane"]
    line(f"{n} guests: console pane refresh", f"{psecs / max(pcalls, 1) * 1e6:7.1f} us per call ({pcalls} calls), "
                                              f"{d['redraws']} lines drawn")  # fmt: skip
    line(f"{n} guests: GC pauses, typing", gc_pauses(d["typing_pauses"]))
    line(f"{n} guests: GC pauses, watching", gc_pauses(d["watching_pauses"]))
    line(f"{n} guests: dashboard, watching", f"{mips(d['watching'])} ({window:.0f} s)")
    line(f"{n} guests:   headless beside it", mips(d["watching_beside"]))
    line(f"{n} guests: dashboard, typing", f"{mips(d['mips'])} ({d['window']:.0f} s)")
    line(f"{n} guests:   headless beside it", mips(d["typing_beside"]))
    line(f"{n} guests: as `tuivmm run` (20k slices)", f"{mips(as_run)} ({window:.0f} s)")
    line(f"{n} guests:   headless beside it", mips(beside))
    line(f"{n} guests: dashboard / headless", f"watching {ratio(d['watching'], d['watching_beside'])}, "
                                              f"typing {ratio(d['mips'], d['typing_beside'])}")  # fmt: skip
    line(f"{n} guests: as run / headless", ratio(as_run, beside))


async def as_run_beside_headless(n: int, seconds: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """MIPS of the guests as `tuivmm run` runs them, here, and realtime headless beside."""
    partner = Partner(n)
    session = Session(lineup(n), realtime=False)
    try:
        session.start()
        await make_busy(session)
        await partner.ready()
        window = Window(session)
        partner.start()
        await asyncio.sleep(seconds)
        return window.mips(), partner.stop()
    finally:
        session.close()
        partner.close()


def mips(pair: tuple[float, float]) -> str:
    return f"{pair[0]:6.3f} MIPS ({pair[1]:.3f} per CPU s)"


def ratio(a: tuple[float, float], b: tuple[float, float]) -> str:
    return f"{a[0] / b[0]:.3f} ({a[1] / b[1]:.3f} per CPU s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guests", default="4,8", help="guest counts, comma-separated (default 4,8)")
    parser.add_argument(
        "--keys", type=int, default=30, help=f"keys typed per run (default 30; lines of {len(KEYS)} at most)"
    )
    parser.add_argument(
        "--window",
        type=float,
        default=40.0,
        help="seconds of the watching and the as-run windows (default 40)",
    )
    parser.add_argument("--partner", type=int, help=argparse.SUPPRESS)  # the headless process
    parser.add_argument("--as-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--minimal", action="store_true", help="a stand-in App instead of the real dashboard")
    args = parser.parse_args()
    if args.partner:
        asyncio.run(partner_main(args.partner, not args.as_run, args.cpu))
        return
    global PINNED
    PINNED = len(os.sched_getaffinity(0)) >= 2
    if PINNED:
        os.sched_setaffinity(0, {0})
    keys = max(1, args.keys)
    start = time.perf_counter()
    print(f"python {sys.version.split()[0]}, {SIZE[0]}x{SIZE[1]} headless Textual, unix guests busy with "
          f"`bench 1000` but the first; the headless guests beside "
          f"{'on the other core' if PINNED else 'on the same core (one CPU)'}")  # fmt: skip
    for n in (int(x) for x in args.guests.split(",")):
        asyncio.run(measure(n, keys, args.window, args.minimal))
    print(f"(took {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
