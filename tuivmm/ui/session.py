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
from tuivmm.disk.attach import DiskSetupError, GuestDisk, disk_for
from tuivmm.lineup.file import Lineup
from tuivmm.lineup.spec import GuestSpec, SpecError
from tuivmm.tools.gdbstub import HOST, GdbStub
from tuivmm.tools.pcap import PcapError, capture
from tuivmm.tools.snapshot import SnapshotError, mac_warning, restore_guest, save_guest
from tuivmm.vmm import Guest, GuestState, Vmm, VmmError
from tuivmm.vmm.traplog import RateMeter

COLUMNS, LINES = 80, 24

STATES_KEPT = 2000  # per guest: the newest exits whose states the trap inspector can show


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
    reason: str = ""  # why it stopped; for a guest that gives a verdict (eret-escape), the verdict


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
        self.vmm.keep_exit_states(STATES_KEPT)  # for the trap inspector
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
        self.debuggers: dict[str, GdbStub] = {}  # guest name -> its gdb stub, while it has one
        # A keystroke's moment: until `_keys_until` only the guest the keys went to runs
        # (with the app), so its echo is on the screen at once (Vmm.defer).
        self._keys_to: str | None = None
        self._keys_until = 0.0
        self.last_key_at = 0.0  # time.perf_counter() of the last key for a guest
        self.vmm.defer = self._defer
        self._gdb_from_start: dict[str, int] = {}  # guest name -> port, for guests added to wait for gdb
        # While the lineup is added: the guests given a throwaway disk, and what to say of
        # each; said once for them all (a note each covers a small terminal's console).
        self._throwaway: list[tuple[str, str]] | None = []
        for spec in lineup.guests:
            self.add(spec)
        throwaway, self._throwaway = self._throwaway, None
        if len(throwaway) == 1:
            self.notices.append(throwaway[0][1])
        elif throwaway:
            names = ", ".join(name for name, _ in throwaway)
            self.notices.append(f"{names} have no --disk, so each gets a fresh empty disk that is "
                                f"thrown away at exit (to keep their files: --disk NAME=FILE on the command line, "
                                f'disk = "FILE" in a lineup file)')  # fmt: skip

    # --- guests -------------------------------------------------------------------------

    @property
    def guests(self) -> list[Guest]:
        return self.vmm.guests

    def guest(self, name: str) -> Guest | None:
        return next((g for g in self.vmm.guests if g.name == name), None)

    def add(self, spec: GuestSpec | str) -> Guest | None:
        """Add a guest: a GuestSpec (tuivmm/lineup/spec.py), or just an IMAGE (a
        packaged guest's name, an ELF or assembly file).  On failure the reason goes to
        `errors` and None comes back — the other guests go on.  A spec with a gdb port
        waits for the debugger from its first instruction (once the loop runs)."""
        if isinstance(spec, str):
            spec = GuestSpec(spec)
        if spec.snapshot is not None:
            return self._restore(spec)
        try:
            spec.resolve()
            spec.check_fits()
        except SpecError as exc:
            self.errors.append(str(exc))
            return None
        name = spec.base
        named = self.vmm.free_name(name)  # what the guest will be called: the note names it
        keep = (f'to keep its files, give it one: --disk {named}=FILE on the command line, disk = "FILE" in a '
                "lineup file, --disk FILE after F9")  # fmt: skip
        try:
            disk = disk_for(spec.image, spec.disk, no_disk=spec.no_disk, keep_hint=keep, name=named)
        except DiskSetupError as exc:
            self.errors.append(f"{spec.image}: {exc}")
            return None
        source = {"program": spec.program} if spec.program is not None else {"image": spec.path}
        try:
            guest = self.vmm.add_guest(**source, name=name, ram_size=spec.ram_mib << 20, disk=disk.path,
                                       remedy=spec.remedy, net=spec.net, paused=spec.gdb_port is not None,
                                       sbi=spec.sbi)  # fmt: skip
        except VmmError as exc:
            disk.close()
            self.errors.append(str(exc))
            return None
        if disk.notice and disk.throwaway and self._throwaway is not None:
            self._throwaway.append((guest.name, disk.notice))
        elif disk.notice:
            self.notices.append(disk.notice)
        self._disks[guest.name] = disk
        self._set_up(guest, spec)
        return guest

    def _set_up(self, guest: Guest, spec: GuestSpec) -> None:
        """Its terminal, figures and task (`_attach`), the spec's tools: its instruction
        limit, and gdb from the start (it was added paused for that)."""
        if spec.max_insns is not None:
            guest.instruction_limit = spec.max_insns  # the VMM stops it exactly there
        if spec.gdb_port is not None:
            self._gdb_from_start[guest.name] = spec.gdb_port
        self._attach(guest)
        if self._loop is not None:
            self._serve_gdb_from_start()

    def _attach(self, guest: Guest) -> None:
        """Give a new guest its terminal and figures, and its task if the loop runs."""
        terminal = Terminal()
        self.terminals[guest.name] = terminal
        self.figures[guest.name] = GuestFigures()
        if guest.output:
            terminal.feed(bytes(guest.output))  # a restored guest's console, as it was
        guest.on_output = terminal.feed
        if self._loop is not None:
            self._start(guest)

    # --- snapshots ----------------------------------------------------------------------

    def save(self, name: str, path: str) -> int | None:
        """Save guest `name` to the snapshot file `path` (written aside, then renamed);
        its size in bytes, or None with the reason in `errors`.  The guest goes on."""
        guest = self.guest(name)
        if guest is None:
            return None
        try:
            return save_guest(guest, path)
        except SnapshotError as exc:
            self.errors.append(str(exc))
            return None

    def restore(self, path: str) -> Guest | None:
        """Add the guest saved in the snapshot file `path`, running on from where it was
        saved (its disk a throwaway copy of the saved one); None, with the reason in
        `errors`, if the file is missing, damaged or of another version."""
        return self.add(GuestSpec(path, snapshot=path))

    def _restore(self, spec: GuestSpec) -> Guest | None:
        """A guest from `spec.snapshot` (a path or a read Snapshot), named `spec.name`
        (None: as it was saved), its saved disk put at `spec.disk` (None: a throwaway
        copy)."""
        try:
            guest = restore_guest(self.vmm, spec.snapshot, name=spec.name, disk=spec.disk, paused=True)
        except SnapshotError as exc:
            self.errors.append(str(exc))
            return None
        if (warning := mac_warning(guest)) is not None:
            self.notices.append(warning)
        self._set_up(guest, spec)
        if spec.gdb_port is None:
            guest.resume()  # its wall clock starts now (realtime: no catching up on the time it was away)
        return guest

    def remove(self, name: str) -> None:
        guest = self.guest(name)
        if guest is None:
            return
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
        self._drop_debugger(name)
        self.vmm.remove_guest(guest)
        disk = self._disks.pop(name, None)
        if disk is not None:
            disk.close()

    # --- running ----------------------------------------------------------------------

    def start(self) -> None:
        """Start every guest's task on the running event loop (and gdb's stubs for the
        guests that wait for it)."""
        self._loop = asyncio.get_running_loop()
        for guest in self.vmm.guests:
            self._start(guest)
        self._serve_gdb_from_start()

    def _serve_gdb_from_start(self) -> None:
        """A task per guest added to wait for gdb: serve its stub (`debug`); a port that
        cannot be had lets the guest run without (the reason is in `errors`)."""

        async def serve(name: str, port: int) -> None:
            if await self.debug(name, port) is None and (guest := self.guest(name)) is not None:
                guest.resume()

        for name, port in self._gdb_from_start.items():
            self._loop.create_task(serve(name, port))
        self._gdb_from_start.clear()

    def _start(self, guest: Guest) -> None:
        task = self._tasks.get(guest.name)
        if task is None or task.done():
            self._tasks[guest.name] = asyncio.get_running_loop().create_task(self.vmm.serve(guest))

    def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        for name in list(self.debuggers):
            self._drop_debugger(name)
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

    KEYSTROKE_S = 0.04  # how long the other guests let the keys' guest and the app go first

    def send_keys(self, name: str, data: bytes) -> None:
        guest = self.guest(name)
        if guest is not None and not guest.state.finished:
            guest.send_input(data, interactive=True)
            self.keystroke_coming(name)

    def keystroke_coming(self, name: str) -> None:
        """A key is on its way to guest `name` (the app has it): for a moment the other
        guests let it, and the app, go first."""
        self.last_key_at = time.perf_counter()
        self._keys_to, self._keys_until = name, self.last_key_at + self.KEYSTROKE_S

    def keystroke_shown(self) -> None:
        """The last keystroke's echo is on the screen: the other guests run again."""
        self._keys_until = 0.0

    def _defer(self, guest: Guest) -> bool:
        """Vmm.defer: just after a keystroke, guests other than its own wait their turn."""
        return guest.name != self._keys_to and time.perf_counter() < self._keys_until

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
        guest.reset("reset from the dashboard")
        self.terminals[name].feed(b"\x1b[2J\x1b[H")  # a fresh screen, as after power-on
        if self._loop is not None:
            self._start(guest)

    def stop(self, name: str) -> None:
        if (guest := self.guest(name)) is not None:
            guest.stop()

    def zero_counters(self, name: str) -> None:
        """Guest `name`'s counters from zero (its exit rates too); it runs on."""
        if (guest := self.guest(name)) is not None:
            guest.zero_counters("zeroed from the dashboard")

    def set_flaw(self, on: bool) -> None:
        self.vmm.flawed_eret = on

    def set_remedy(self, name: str, remedy: str) -> None:
        if (guest := self.guest(name)) is not None:
            try:
                guest.set_remedy(remedy)
            except VmmError as exc:
                self.errors.append(str(exc))

    # --- debugging with gdb ---------------------------------------------------------------

    async def debug(self, name: str, port: int) -> GdbStub | None:
        """Serve a gdb stub for guest `name` on 127.0.0.1:`port` (0: any free port).  The
        guest stops where it is ("stopped in debugger") until gdb attaches and lets it
        go.  None, with the reason in `errors`, if that cannot be."""
        guest = self.guest(name)
        if guest is None or guest.state.finished:
            self.errors.append(f"{name}: only a guest that can still run can be debugged")
            return None
        if name in self.debuggers:
            self.errors.append(f"{name}: gdb can already attach on {HOST}:{self.debuggers[name].port}")
            return None
        try:
            stub = await GdbStub.start(self.vmm, guest, port, hold=True)
        except VmmError as exc:
            self.errors.append(f"{name}: {exc}")
            return None
        self.debuggers[name] = stub
        self.notices.append(f"{name} is stopped; attach gdb: target remote {HOST}:{stub.port}")
        return stub

    async def undebug(self, name: str) -> None:
        """Stop serving gdb for guest `name`: a debugger attached is cut off, breakpoints
        are taken out, and the guest runs on."""
        stub = self.debuggers.pop(name, None)
        if stub is not None:
            await stub.close()
            if (guest := self.guest(name)) is not None:
                guest.wake.set()

    def _drop_debugger(self, name: str) -> None:
        """`undebug` without waiting: on the running loop as a task, else at once (the
        loop is gone at exit: only the listening socket is left to close)."""
        stub = self.debuggers.pop(name, None)
        if stub is None:
            return
        try:
            asyncio.get_running_loop().create_task(stub.close())
        except RuntimeError:
            if stub._server is not None:
                stub._server.close()
            stub.target.detach(resume=False)

    # --- figures ----------------------------------------------------------------------------

    def _why(self, guest: Guest) -> str:
        """The list's last column: why it stopped (or the verdict it gave, for a guest
        that gives one: ESCAPED, not "pass"), and whether gdb is on it."""
        stub = self.debuggers.get(guest.name)
        if stub is not None and guest.state.finished and not stub.attached:
            # Nothing left to debug: close the port rather than offer it.
            self._drop_debugger(guest.name)
            self.notices.append(f"{guest.name} has ended ({guest.reason}): its gdb port {stub.port} is closed")
            stub = None
        reason = guest.verdict or guest.reason
        if stub is None:
            return reason
        gdb = f"gdb {'attached' if stub.attached else 'may attach'} on {HOST}:{stub.port}"
        if guest.state is GuestState.DEBUG:
            gdb = f"stopped in debugger · {gdb}"
        return f"{reason} · {gdb}" if reason else gdb

    def sample(self, now: float | None = None) -> list[GuestRow]:
        """Refresh `rows` (and each guest's exit rates) from the VMM."""
        now = time.perf_counter() if now is None else now
        rows = []
        for guest in self.vmm.guests:
            fig = self.figures[guest.name]
            if fig.last_time is not None and now > fig.last_time:
                fig.mips = (guest.retired_total - fig.last_instructions) / (now - fig.last_time) / 1e6
            fig.last_time, fig.last_instructions = now, guest.retired_total
            fig.exit_rates = fig.meter.sample(guest.log, now)
            rows.append(GuestRow(
                name=guest.name,
                state=guest.state.value,
                priv=PRIV_NAMES.get(guest.priv, "?"),
                pc=guest.pc,
                mips=fig.mips,
                exits_per_s=sum(fig.exit_rates.values()),
                ram_mib=guest.window.size >> 20,
                uptime_s=guest.clock_now() / TIMEBASE_HZ,
                remedy=guest.remedy,
                reason=self._why(guest),
            ))  # fmt: skip
        self.rows = rows
        return rows
