"""The dashboard's model: the VMM, its guests, their terminals and their figures.

Widgets read plain objects from here and change things only through the methods
below (which call the VMM's commands); nothing here knows about Textual.  The app
calls `sample()` on a timer (about 10 Hz) and redraws what is visible from
`rows` (the guest list), `terminals` (each guest's VT100 screen) and the guests'
logs.  Guests run as asyncio tasks on the app's event loop (`start`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pyte

from machine.clock import TIMEBASE_HZ
from machine.cpu.csrs import PRIV_NAMES
from tuivmm.disks import DiskSetupError, GuestDisk, disk_for
from tuivmm.guests import resolve
from tuivmm.ui.lineup import GuestSpec, Lineup
from tuivmm.vmm import Guest, GuestState, Vmm, VmmError
from tuivmm.vmm.pcap import PcapError, capture
from tuivmm.vmm.traplog import RateMeter

COLUMNS, LINES = 80, 24


class Terminal:
    """A guest's console as a VT100 screen (pyte), fed with everything it prints.

    Guests print a byte at a time, so `feed` only queues the bytes; the screen parses
    them in one go when someone looks at it (`screen`, `text`), which costs a fraction
    of parsing them one by one.  `version` goes up on every change, and
    `line_versions[y]` is the `version` at which line y last changed (taken from
    pyte's `screen.dirty`, which the Terminal empties), so a widget redraws only the
    lines that changed since it last drew them.
    """

    MAX_PENDING = 1 << 16  # bytes queued before they are parsed anyway

    def __init__(self, columns: int = COLUMNS, lines: int = LINES):
        self._screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self._screen)
        self.version = 0  # bumped on every change, so a widget redraws only when needed
        self.line_versions = [0] * lines
        self._pending = bytearray()

    @property
    def screen(self) -> pyte.Screen:
        """The pyte screen, with everything fed so far on it."""
        if self._pending:
            self.flush()
        return self._screen

    @property
    def size(self) -> tuple[int, int]:
        """(columns, lines)."""
        return self._screen.columns, self._screen.lines

    def feed(self, data: bytes) -> None:
        self._pending += data
        self.version += 1
        if len(self._pending) >= self.MAX_PENDING:
            self.flush()

    def flush(self) -> None:
        """Parse the queued bytes and note which lines they changed."""
        data = bytes(self._pending)
        self._pending.clear()
        # A bare LF moves down without returning the carriage on a VT100; guests print
        # "\n" as a Unix terminal driver would turn it into "\r\n".
        self.stream.feed(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        self._note_dirty()

    def _note_dirty(self) -> None:
        screen, versions, version = self._screen, self.line_versions, self.version
        for y in screen.dirty:
            if 0 <= y < len(versions):
                versions[y] = version
        screen.dirty.clear()

    def resize(self, columns: int, lines: int) -> None:
        """Resize as a terminal window does: lines wider than the new width are cut,
        and when the screen gets shorter, only as many lines leave at the top as
        keep the cursor on screen.  What the guest prints next wraps at the new width."""
        screen = self.screen
        columns, lines = max(1, columns), max(1, lines)
        if (columns, lines) == (screen.columns, screen.lines):
            return
        if lines < screen.lines:
            drop = max(0, screen.cursor.y + 1 - lines)
            rows = dict(screen.buffer)
            screen.buffer.clear()
            for y, row in rows.items():
                if 0 <= y - drop < lines:
                    screen.buffer[y - drop] = row
            screen.cursor.y -= drop
        if columns < screen.columns:
            for row in screen.buffer.values():
                for x in [x for x in row if x >= columns]:
                    del row[x]
        else:
            screen.tabstops.update(range(-(-screen.columns // 8) * 8, columns, 8))
        screen.lines, screen.columns = lines, columns
        screen.set_margins()
        screen.cursor.x = min(screen.cursor.x, columns - 1)
        screen.cursor.y = min(max(screen.cursor.y, 0), lines - 1)
        self.version += 1
        screen.dirty.clear()
        self.line_versions = [self.version] * lines

    def text(self) -> str:
        """The screen as plain text, trailing spaces stripped (for tests)."""
        return "\n".join(line.rstrip() for line in self.screen.display).rstrip("\n")


@dataclass
class GuestRow:
    """One line of the guest list."""

    name: str
    state: str
    priv: str
    pc: int
    mips: float
    exits_per_s: float
    ram_mib: int
    uptime_s: float  # the guest's virtual time
    remedy: str
    reason: str = ""


@dataclass
class GuestFigures:
    """What `sample` keeps per guest between calls."""

    meter: RateMeter = field(default_factory=RateMeter)
    last_time: float | None = None
    last_instructions: int = 0
    mips: float = 0.0
    exit_rates: dict[str, float] = field(default_factory=dict)


class Session:
    def __init__(self, lineup: Lineup, *, realtime: bool = True, pcap: str | None = None):
        """`pcap`: capture the virtual switch into this file (PcapError if it cannot be made)."""
        self.vmm = Vmm(flawed_eret=lineup.flawed_eret, realtime=realtime)
        self.pcap = capture(self.vmm, pcap) if pcap is not None else None
        if realtime:
            # Live on the app's loop: shorter slices, so a key or a redraw never waits
            # long behind a round of busy guests.
            self.vmm.slice_cycles, self.vmm.slice_exits = 5_000, 50
        self.errors: list[str] = []  # one line each, for the app to show
        self.notices: list[str] = []
        self.terminals: dict[str, Terminal] = {}
        self.figures: dict[str, GuestFigures] = {}
        self.rows: list[GuestRow] = []
        self._disks: dict[str, GuestDisk] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        for spec in lineup.guests:
            self.add(spec)

    # --- guests -------------------------------------------------------------------------

    @property
    def guests(self) -> list[Guest]:
        return self.vmm.guests

    def guest(self, name: str) -> Guest | None:
        return next((g for g in self.vmm.guests if g.name == name), None)

    def add(self, spec: GuestSpec | str) -> Guest | None:
        """Add a guest (a spec, or just a packaged name / ELF path); on failure the
        reason goes to `errors` and None comes back — the other guests go on."""
        if isinstance(spec, str):
            spec = GuestSpec(spec)
        image = resolve(spec.image)
        try:
            disk = disk_for(spec.image, spec.disk, keep_hint='a `disk = "FILE"` for it in a --config lineup '
                            "keeps its files")  # fmt: skip
        except DiskSetupError as exc:
            self.errors.append(f"{spec.image}: {exc}")
            return None
        try:
            guest = self.vmm.add_guest(image, name=spec.name, ram_size=spec.ram_mib << 20, disk=disk.path,
                                       remedy=spec.remedy, net=spec.net)  # fmt: skip
        except VmmError as exc:
            disk.close()
            self.errors.append(str(exc))
            return None
        if disk.notice:
            self.notices.append(disk.notice)
        self._disks[guest.name] = disk
        terminal = Terminal()
        self.terminals[guest.name] = terminal
        self.figures[guest.name] = GuestFigures()
        guest.on_output = terminal.feed
        if self._loop is not None:
            self._start(guest)
        return guest

    def remove(self, name: str) -> None:
        guest = self.guest(name)
        if guest is None:
            return
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
        self.vmm.remove_guest(guest)
        disk = self._disks.pop(name, None)
        if disk is not None:
            disk.close()

    # --- running ----------------------------------------------------------------------

    def start(self) -> None:
        """Start every guest's task on the running event loop."""
        self._loop = asyncio.get_running_loop()
        for guest in self.vmm.guests:
            self._start(guest)

    def _start(self, guest: Guest) -> None:
        task = self._tasks.get(guest.name)
        if task is None or task.done():
            self._tasks[guest.name] = asyncio.get_running_loop().create_task(self.vmm.serve(guest))

    def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        self.vmm.close()
        for disk in self._disks.values():
            disk.close()
        self._disks.clear()
        if self.pcap is not None:
            try:
                self.pcap.close()
            except PcapError as exc:
                self.errors.append(str(exc))
            self.pcap = None

    # --- commands (all the UI may change) --------------------------------------------------

    def send_keys(self, name: str, data: bytes) -> None:
        guest = self.guest(name)
        if guest is not None and not guest.state.finished:
            guest.send_input(data, interactive=True)

    def pause(self, name: str) -> None:
        if (guest := self.guest(name)) is not None:
            guest.pause()

    def resume(self, name: str) -> None:
        if (guest := self.guest(name)) is not None:
            guest.resume()

    def toggle_pause(self, name: str) -> None:
        guest = self.guest(name)
        if guest is None:
            return
        if guest.state is GuestState.PAUSED:
            guest.resume()
        else:
            guest.pause()

    def step(self, name: str) -> None:
        if (guest := self.guest(name)) is not None:
            self.vmm.step(guest)

    def reset(self, name: str) -> None:
        guest = self.guest(name)
        if guest is None:
            return
        guest.reset()
        self.terminals[name].feed(b"\x1b[2J\x1b[H")  # a fresh screen, as after power-on
        if self._loop is not None:
            self._start(guest)

    def stop(self, name: str) -> None:
        if (guest := self.guest(name)) is not None:
            guest.stop()

    def set_flaw(self, on: bool) -> None:
        self.vmm.flawed_eret = on

    def set_remedy(self, name: str, remedy: str) -> None:
        if (guest := self.guest(name)) is not None:
            try:
                guest.set_remedy(remedy)
            except VmmError as exc:
                self.errors.append(str(exc))

    # --- figures ----------------------------------------------------------------------------

    def sample(self, now: float | None = None) -> list[GuestRow]:
        """Refresh `rows` (and each guest's exit rates) from the VMM."""
        now = time.perf_counter() if now is None else now
        rows = []
        for guest in self.vmm.guests:
            fig = self.figures[guest.name]
            if fig.last_time is not None and now > fig.last_time:
                fig.mips = (guest.instructions - fig.last_instructions) / (now - fig.last_time) / 1e6
            fig.last_time, fig.last_instructions = now, guest.instructions
            fig.exit_rates = fig.meter.sample(guest.log, now)
            rows.append(GuestRow(
                name=guest.name,
                state="stopped in debugger" if getattr(guest, "debugger", None) else guest.state.value,
                priv=PRIV_NAMES.get(guest.priv, "?"),
                pc=guest.pc,
                mips=fig.mips,
                exits_per_s=sum(fig.exit_rates.values()),
                ram_mib=guest.window.size >> 20,
                uptime_s=guest.vcpu.cycles / TIMEBASE_HZ,
                remedy=guest.remedy,
                reason=guest.reason,
            ))  # fmt: skip
        self.rows = rows
        return rows
