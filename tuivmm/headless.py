"""`tuivmm run`: the monitor without the dashboard.

Every guest runs as its own asyncio task (`Vmm.serve`); a watcher task beside them
enforces --max-insns and decides when the run is over.  A thread reads stdin and
hands what it reads to the first guest's console: piped input paced a line at a time,
as `tuivmm bare` does; keys on a terminal at once, raw (Ctrl-A x quits).  While a
pipe is open, the first guest is held (paused) at the exit where it starts waiting
for input that has not come yet, until it comes, so a scripted run goes the same
however fast the script writes.

Each guest's console goes to stdout a line at a time, every line prefixed `[name] `,
so lines of different guests never mix.  On a terminal, the unfinished line (a
prompt, the keys being typed) is shown as it grows and redrawn after other guests'
lines; through a pipe only whole lines are written, and a last unfinished line is
ended with a newline when the run ends.

The exit status: 0 when every guest powered off with success; otherwise the first
failing guest's code (or 1), 4 if a guest crashed, 124 if one ran into --max-insns,
3 if the run stopped because every guest left sleeps forever with no input to come,
130 for Ctrl-A x.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from dataclasses import dataclass
from typing import IO, Any

MIB = 1024 * 1024
DEFAULT_RAM_MIB = 128

EXIT_IDLE = 3
EXIT_CRASH = 4
EXIT_BUDGET = 124
EXIT_QUIT = 130


class RunError(Exception):
    """Something the user can fix (an image that does not load, a bad NAME=...); one line."""


@dataclass
class GuestPlan:
    """One guest to start: its name, image path (or assembled `program`), RAM, disk, remedy."""

    name: str
    image: str
    ram_mib: int = DEFAULT_RAM_MIB
    disk: str | None = None
    remedy: str = "none"
    program: Any = None


@dataclass
class Settings:
    max_insns: int | None = None
    flawed_eret: bool = False
    net: bool = True
    trace_exits: str | None = None  # a file, "-" for stderr
    stats: bool = False
    pcap: str | None = None  # capture the virtual switch into this file


def guest_names(bases: list[str]) -> list[str]:
    """The names the VMM gives guests with these base names: the second "hello" is
    "hello-2", as `Vmm.add_guest` does."""
    names: list[str] = []
    for base in bases:
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def per_guest(option: str, values: list[tuple[str | None, Any]], names: list[str], bases: list[str],
              default: Any) -> list[Any]:  # fmt: skip
    """Each guest's value of a repeatable `--option [NAME=]VALUE`: one given for its
    exact name wins over one for its base name ("hello" for hello-2 too), which wins
    over one without NAME (every guest), which wins over `default`.  RunError names
    a NAME that is no guest of this run."""
    exact: dict[str, Any] = {}
    by_base: dict[str, Any] = {}
    every = default
    for name, value in values:
        if name is None:
            every = value
        elif name in names:
            exact[name] = value
        elif name in bases:
            by_base[name] = value
        else:
            raise RunError(f"{option} {name}=...: no guest named {name} in this run ({', '.join(names)})")
    return [exact.get(n, by_base.get(b, every)) for n, b in zip(names, bases, strict=True)]


class LinePrinter:
    """Guests' console bytes to one stream, each line prefixed with `[name] `.

    Through a pipe only whole lines are written (flushed at each one).  When a person
    is watching (`interactive`: stdout is the raw terminal), a guest's unfinished line
    is shown as it grows; another guest's line first ends it on screen, and afterwards
    the first guest's unfinished line (its prompt) is shown again."""

    def __init__(self, out: IO[bytes], names: list[str], *, interactive: bool = False):
        self.out = out
        self.names = names
        self.interactive = interactive
        self.partial: dict[str, bytearray] = {name: bytearray() for name in names}
        self.screen: tuple[str, int] | None = None  # guest whose unfinished line is shown, bytes shown
        self.broken = False

    def feed(self, name: str, data: bytes) -> None:
        if self.screen is not None and self.screen[0] != name:
            self._end_screen_line()
        buf = self.partial[name]
        buf += data
        chunks: list[bytes] = []
        while (end := buf.find(b"\n")) >= 0:
            line = bytes(buf[: end + 1])
            del buf[: end + 1]
            if self.screen is not None:  # the rest of the line that is on screen
                chunks.append(line[self.screen[1] :])
                self.screen = None
            else:
                chunks.append(self._prefix(name) + line)
        if self.interactive:
            if buf:
                if self.screen is not None:  # this guest's line is on screen: add what is new
                    chunks.append(bytes(buf[self.screen[1] :]))
                else:
                    chunks.append(self._prefix(name) + bytes(buf))
                self.screen = (name, len(buf))
            else:
                chunks.append(self._reshow())
        self._write(b"".join(chunks))

    def finish(self) -> None:
        """End every unfinished line (the run is over)."""
        chunks = []
        for name in self.names:
            buf = self.partial[name]
            if not buf:
                continue
            if self.screen is not None and self.screen[0] == name:
                chunks.append(bytes(buf[self.screen[1] :]) + b"\n")
                self.screen = None
            else:
                if self.screen is not None:
                    chunks.append(b"\n")
                    self.screen = None
                chunks.append(self._prefix(name) + bytes(buf) + b"\n")
            buf.clear()
        if self.screen is not None:
            chunks.append(b"\n")
            self.screen = None
        self._write(b"".join(chunks))

    def _prefix(self, name: str) -> bytes:
        return f"[{name}] ".encode()

    def _end_screen_line(self) -> None:
        self._write(b"\n")
        self.screen = None

    def _reshow(self) -> bytes:
        """The first guest's unfinished line again, if nothing else is on screen."""
        if self.screen is not None or not self.names:
            return b""
        first = self.names[0]
        buf = self.partial[first]
        if not buf:
            return b""
        self.screen = (first, len(buf))
        return self._prefix(first) + bytes(buf)

    def _write(self, data: bytes) -> None:
        if not data or self.broken:
            return
        if self.interactive:  # a raw terminal does not turn \n into \r\n
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        try:
            self.out.write(data)
            self.out.flush()
        except BrokenPipeError:
            # Nobody reads any more (`tuivmm run unix | head`): the guests run on, unseen.
            self.broken = True
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.out.fileno())
                os.close(devnull)
            except (OSError, AttributeError, ValueError):
                pass


class StdinPump:
    """A thread reading stdin (a `tuivmm.terminal.StdinInput`), posting what it reads
    to the event loop: on_data(bytes), then on_end() at end of input, or on_quit() for
    Ctrl-A x."""

    def __init__(self, source, loop: asyncio.AbstractEventLoop, on_data, on_end, on_quit):
        self.source = source
        self.loop = loop
        self.on_data, self.on_end, self.on_quit = on_data, on_end, on_quit
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tuivmm-stdin", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def _post(self, callback, *args) -> None:
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the run is over
            self.stopping.set()

    def _run(self) -> None:
        from tuivmm.terminal import QuitRequested

        try:
            while not self.stopping.is_set():
                data = self.source.poll(0.1)
                if data is None:
                    self._post(self.on_end)
                    return
                if data:
                    self._post(self.on_data, data)
        except QuitRequested:
            self._post(self.on_quit)
        except (OSError, ValueError):  # stdin closed under us: that is its end
            self._post(self.on_end)


class HeadlessRun:
    """One `tuivmm run`: build the VMM and its guests, run them, report, return the
    exit status.  `stdin` is a `tuivmm.terminal.StdinInput` (or anything with
    `interactive` and `poll(timeout)`), or None for no input at all."""

    def __init__(self, plans: list[GuestPlan], settings: Settings, *, stdin=None,
                 stdout: IO[bytes] | None = None, stderr: IO[str] | None = None):  # fmt: skip
        self.plans = plans
        self.settings = settings
        self.stdin = stdin
        self.interactive = bool(stdin is not None and stdin.interactive)
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        self.stderr = stderr if stderr is not None else sys.stderr
        self.printer = LinePrinter(self.stdout, [p.name for p in plans], interactive=self.interactive)
        self.vmm = None
        self.guests: list = []
        self.outcome: dict[str, str] = {}  # why the run stopped a guest: "budget", "idle", "quit"
        self.stdin_ended = stdin is None
        self.held = False  # the first guest is paused until more input comes
        self.quit = False
        self._changed: asyncio.Event | None = None
        self._trace: IO[str] | None = None
        self._pcap = None

    # --- setting up -----------------------------------------------------------------------

    def start(self) -> None:
        """Create the VMM and every guest (RunError if one cannot be)."""
        from tuivmm.vmm import Vmm, VmmError

        s = self.settings
        if s.trace_exits is not None:
            if s.trace_exits == "-":
                self._trace = self.stderr
            else:
                try:
                    self._trace = open(s.trace_exits, "w")  # noqa: SIM115 - closed in close()
                except OSError as exc:
                    raise RunError(f"{s.trace_exits}: {exc.strerror or exc}") from None
        self.vmm = Vmm(flawed_eret=s.flawed_eret)
        if s.pcap is not None:
            from tuivmm.vmm.pcap import PcapError, capture

            try:
                self._pcap = capture(self.vmm, s.pcap)
            except PcapError as exc:
                raise RunError(str(exc)) from None
        for plan in self.plans:
            if plan.program is not None and len(plan.program.data) > plan.ram_mib * MIB:
                raise RunError(f"{plan.image}: the program ({len(plan.program.data)} bytes) does not fit in RAM")
            try:
                if plan.program is not None:
                    guest = self.vmm.add_guest(program=plan.program, name=plan.name, ram_size=plan.ram_mib * MIB,
                                               disk=plan.disk, remedy=plan.remedy, net=s.net)  # fmt: skip
                else:
                    guest = self.vmm.add_guest(plan.image, name=plan.name, ram_size=plan.ram_mib * MIB,
                                               disk=plan.disk, remedy=plan.remedy, net=s.net)  # fmt: skip
            except VmmError as exc:
                raise RunError(str(exc)) from None
            if guest.name != plan.name:  # pragma: no cover - guest_names mirrors add_guest
                raise RunError(f"the VMM named guest {plan.name!r} {guest.name!r}")
            guest.on_output = lambda data, name=guest.name: self.printer.feed(name, data)
            if not self.guests and not self.stdin_ended and not self.interactive:
                guest.log.on_event = self._first_guest_event  # it reads the piped input
            elif self._trace is not None:
                guest.log.on_event = self._trace_event
            guest.instruction_limit = self.settings.max_insns  # the VMM stops it exactly there
            self.guests.append(guest)

    def _first_guest_event(self, event) -> None:
        """Every exit of the first guest while stdin is a pipe still open: hold the guest
        the moment it waits for input (asleep in WFI, or polling the UART's line status)
        and the next line has not arrived yet, until it does or stdin ends — as
        `tuivmm bare` waits for it — so a scripted run goes the same, instruction for
        instruction, however fast the script writes."""
        from tuivmm.vmm import GuestState
        from tuivmm.vmm import traplog as T

        if self._trace is not None:
            self._trace_event(event)
        if self.held or self.stdin_ended:
            return
        guest = self.guests[0]
        if guest.input or guest.state is not GuestState.RUNNING:
            return
        if (event.reason == T.WFI and guest.vcpu.sleeping) or (
            event.reason == T.MMIO and guest.board.uart.polls_since_tx >= 2
        ):
            guest.pause()  # the slice ends after this exit
            self.held = True

    def _trace_event(self, event) -> None:
        try:
            self._trace.write(event.describe() + "\n")
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        if self._pcap is not None:
            from tuivmm.vmm.pcap import PcapError

            try:
                self._pcap.close()
            except PcapError as exc:
                print(f"tuivmm: {exc}", file=self.stderr)
            self._pcap = None
        if self.vmm is not None:
            self.vmm.close()
        if self._trace is not None:
            try:
                self._trace.flush()
                if self._trace is not self.stderr:
                    self._trace.close()
            except OSError:
                pass

    # --- running ------------------------------------------------------------------------------

    def run(self) -> int:
        """Start, run to the end, report; the exit status."""
        try:
            self.start()
            if self.stdin is not None and self.interactive:
                with self.stdin:  # raw keys while the guests run
                    asyncio.run(self._main())
            else:
                asyncio.run(self._main())
        finally:
            self.printer.finish()
            self.close()
        return self.report()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        pump = None
        if self.stdin is not None:
            pump = StdinPump(self.stdin, loop, self._on_input, self._on_input_end, self._on_quit)
            pump.start()
        tasks = [asyncio.create_task(self.vmm.serve(g), name=f"guest {g.name}") for g in self.guests]
        try:
            await self._watch(tasks)
            for guest in self.guests:
                guest.stop()  # wakes every task still waiting, so each returns
            await asyncio.gather(*tasks)
        finally:
            self.printer.finish()  # still on the raw terminal, if it is one
            if pump is not None:
                pump.stop()
            for task in tasks:
                task.cancel()

    async def _watch(self, tasks: list[asyncio.Task]) -> None:
        from tuivmm.vmm import GuestState
        from tuivmm.vmm.monitor import LIMIT_REASON

        limit = self.settings.max_insns
        while True:
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # a bug of ours: the guest's task died
            if self.quit:
                for guest in self.guests:
                    if not guest.state.finished:
                        self.outcome[guest.name] = "quit"
                return
            if limit is not None:
                for guest in self.guests:
                    if guest.state is GuestState.STOPPED and guest.reason == LIMIT_REASON:
                        self.outcome.setdefault(guest.name, "budget")
            unfinished = [g for g in self.guests if not g.state.finished]
            if not unfinished:
                return
            no_more_input = self.stdin_ended or self.guests[0].state.finished
            if no_more_input and all(g.state is GuestState.IDLE for g in unfinished):
                for guest in unfinished:
                    self.outcome[guest.name] = "idle"
                return
            if any(g.state is GuestState.RUNNING for g in unfinished):
                await asyncio.sleep(0)  # once around: every running guest has had a slice
            else:  # nothing runs: wait for input (or a quit)
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), 0.1)
                except TimeoutError:
                    pass

    def _release(self) -> None:
        if self.held:
            self.held = False
            self.guests[0].resume()

    def _on_input(self, data: bytes) -> None:
        if self.guests and not self.guests[0].state.finished:
            self.guests[0].send_input(data, interactive=self.interactive)
        self._release()
        self._changed.set()

    def _on_input_end(self) -> None:
        self.stdin_ended = True
        if self.guests:
            self.guests[0].log.on_event = self._trace_event if self._trace is not None else None
        self._release()
        self._changed.set()

    def _on_quit(self) -> None:
        self.quit = True
        self._release()
        self._changed.set()

    # --- the end ------------------------------------------------------------------------------

    def report(self) -> int:
        """Say on stderr what became of each guest that did not pass; the exit status."""
        from tuivmm.vmm import GuestState

        err = self.stderr
        fail_code = crashed = budget = idle = None
        for guest in self.guests:
            why = self.outcome.get(guest.name)
            if guest.state is GuestState.HALTED and guest.halt is not None:
                kind, code = guest.halt
                if kind != "pass":
                    print(f"tuivmm: {guest.name} reported failure (code {code})", file=err)
                    if fail_code is None:
                        fail_code = (code & 0xFF) or 1
            elif guest.state is GuestState.CRASHED:
                reason = " ".join(str(guest.reason).split())
                print(f"tuivmm: {guest.name} crashed: {reason}", file=err)
                crashed = True
            elif why == "budget":
                print(f"tuivmm: {guest.name} stopped after {guest.instructions} instructions "
                      f"(--max-insns {self.settings.max_insns})", file=err)  # fmt: skip
                budget = True
            elif why == "idle":
                print(f"tuivmm: {guest.name} is asleep with no timer armed and no input left; stopping", file=err)
                idle = True
        if self.quit:
            print("tuivmm: quit (Ctrl-A x)", file=err)
        if self.settings.stats:
            self.print_stats()
        err.flush()
        if self.quit:
            return EXIT_QUIT
        if fail_code is not None:
            return fail_code
        if crashed:
            return EXIT_CRASH
        if budget:
            return EXIT_BUDGET
        if idle:
            return EXIT_IDLE
        return 0

    def print_stats(self) -> None:
        for guest in self.guests:
            log = guest.log
            reasons = ", ".join(f"{reason} {count}" for reason, count in log.counts.items() if count)
            lines = [
                (f"{guest.instructions} instructions: {guest.direct_instructions} direct, "
                 f"{guest.emulated_instructions} emulated"),
                f"{log.total} exits" + (f" by reason: {reasons}" if reasons else ""),
                f"page faults: {guest.hidden_faults} hidden, {guest.true_faults} true",
            ]
            for line in lines:
                print(f"tuivmm: {guest.name}: {line}", file=self.stderr)
