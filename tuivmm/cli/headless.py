"""`tuivmm run`: the monitor without the dashboard.

Every guest runs as its own asyncio task (`Vmm.serve`); a watcher task beside them
enforces --max-insns and decides when the run is over.  A thread reads stdin and
hands what it reads to the first guest's console: piped input paced a line at a time,
as `tuivmm bare` does; keys on a terminal at once, raw (Ctrl-A x quits).  While a
pipe is open, the whole monitor waits at the exit where the first guest starts
waiting for a line that has not come yet, until it comes, so a scripted run goes the
same, trap for trap and for every guest, however fast the script writes.

--record FILE writes the session down (tuivmm/tools/record.py); --replay FILE plays
it again, taking no input, with the same console output and the same traps.

--gdb [NAME=]PORT serves a GDB stub for a guest (tuivmm/tools/gdbstub.py) on the same
event loop; the guest waits at its first instruction for the debugger, and the run
does not end while a debugger holds a guest (its state is not idle, nor finished).

Each guest's console goes to stdout a line at a time, every line prefixed `[name] `,
so lines of different guests never mix.  On a terminal, the unfinished line (a
prompt, the keys being typed) is shown as it grows and redrawn after other guests'
lines; through a pipe whole lines are written, and the first guest's unfinished line
(its prompt) when it waits for input, so a script can wait for the prompt; a last
unfinished line is ended with a newline when the run ends.

On a terminal the guests run in realtime (their clocks follow the wall clock, as in
the dashboard); piped, recorded or replayed, in virtual time.  Piped input that is
used up ends the run once every guest left sleeps waiting for more.

The exit status: 0 when every guest powered off with success, or when the input
ended with every guest left waiting for more (asleep, no timer armed, its UART's
receive interrupt on); otherwise the first failing guest's code (or 1), 4 if a guest
crashed, 137 if a debugger killed one (gdb's `kill`), 124 if one ran into
--max-insns, 3 if every guest left sleeps with nothing that could wake it, 130 for
Ctrl-A x; 2 if --save could not write a snapshot.

--restore starts guests from snapshots (tuivmm/tools/snapshot.py), first of all, each
showing its console so far; --save writes snapshots when the run is over.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any

from machine.runner import QuietWatch
from tuivmm.cli.terminal import LinePrinter, StdinPump, TerminalText
from tuivmm.lineup.spec import DEFAULT_RAM_MIB, no_such_guest

MIB = 1024 * 1024

WATCH_NAP_S = 0.01  # realtime: how often the watcher looks while guests run or nap

EXIT_IDLE = 3
EXIT_CRASH = 4
EXIT_KILLED = 128 + 9  # a debugger killed a guest: as a shell shows a process's SIGKILL (gdb sees X09)
EXIT_BUDGET = 124
EXIT_QUIT = 130
EXIT_SAVE = 2  # --save could not write its snapshot (or --record its log)
EXIT_DIVERGED = 5  # --replay did not go as the recording did


class RunError(Exception):
    """Something the user can fix (an image that does not load, a bad --save); one line."""


@dataclass
class GuestPlan:
    """One guest to start: its name, image path (or assembled `program`), RAM, disk, remedy,
    who answers its SBI calls."""

    name: str
    image: str
    ram_mib: int = DEFAULT_RAM_MIB
    disk: str | None = None
    remedy: str = "none"
    program: Any = None
    gdb_port: int | None = None  # serve a GDB stub on 127.0.0.1:PORT, the guest held until gdb lets it go
    snapshot: Any = None  # a tuivmm.tools.snapshot.Snapshot to restore (then `disk` is where its disk goes)
    sbi: str = "firmware"  # or "vmm": the VMM answers its SBI calls (tuivmm/vmm/sbi_server.py)


@dataclass
class Settings:
    max_insns: int | None = None
    flawed_eret: bool = False
    net: bool = True
    trace_exits: str | None = None  # a file, "-" for stderr
    stats: bool = False
    pcap: str | None = None  # capture the virtual switch into this file
    save: dict[str, str] = field(default_factory=dict)  # guest name -> snapshot file written at the end


def save_targets(values: list[tuple[str | None, str]], names: list[str]) -> dict[str, str]:
    """--save [NAME=]FILE: {guest name: FILE}.  NAME may be left out when the run has
    one guest.  RunError for an unknown NAME, a FILE given twice, or a FILE that
    cannot be written (a directory, or in a directory that does not exist) — found
    before anything runs."""
    targets: dict[str, str] = {}
    for name, file in values:
        if name is None:
            if len(names) != 1:
                raise RunError("--save needs NAME=FILE when there is more than one guest")
            name = names[0]
        if name not in names:
            raise RunError(no_such_guest("--save", name, names))
        if file in targets.values() or name in targets:
            raise RunError(f"--save {name}={file}: one snapshot file per guest, one guest per file")
        directory = os.path.dirname(file) or "."
        if os.path.isdir(file):
            raise RunError(f"--save {file}: is a directory")
        if not os.path.isdir(directory):
            raise RunError(f"--save {file}: no such directory {directory}")
        targets[name] = file
    return targets


class HeadlessRun:
    """One `tuivmm run`: build the VMM and its guests, run them, report, return the
    exit status.  `stdin` is a `tuivmm.cli.terminal.StdinInput` (or anything with
    `interactive` and `poll(timeout)`), or None for no input at all."""

    def __init__(self, plans: list[GuestPlan], settings: Settings, *, stdin=None,
                 stdout: IO[bytes] | None = None, stderr: IO[str] | None = None,
                 recorder=None, replayer=None):  # fmt: skip
        """`recorder`: a tuivmm.tools.record.Recorder writing this run down; `replayer`: a
        Replayer playing a recording into it (then `stdin` is None)."""
        self.plans = plans
        self.settings = settings
        self.stdin = stdin
        self.interactive = bool(stdin is not None and stdin.interactive)
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        # Messages may come while the terminal is raw (a gdb stub's port, --trace-exits -).
        self.stderr = TerminalText(stderr if stderr is not None else sys.stderr)
        self.printer = LinePrinter(self.stdout, [p.name for p in plans], interactive=self.interactive)
        self.vmm = None
        self.guests: list = []
        self.outcome: dict[str, str] = {}  # why the run stopped a guest: "budget", "input", "idle", "quit"
        self.stdin_ended = stdin is None
        self._quiet_watches: dict[str, QuietWatch] = {}  # by guest name: has it printed lately?
        self.held = False  # the first guest waits for piped input that has not come yet
        self.quit = False
        self._changed: asyncio.Event | None = None
        self._trace: IO[str] | None = None
        self.stubs: list = []  # tuivmm.tools.gdbstub.GdbStub, one per guest with a gdb_port
        self.save_failed = False
        self._pcap = None
        self.recorder = recorder
        self.replayer = replayer
        self._pump: StdinPump | None = None
        self._partial = bytearray()  # piped input after its last end of line

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
        # On a terminal a person is watching: the guests' clocks follow the wall clock,
        # as in the dashboard (`sleep 5` takes five seconds; idle guests cost nothing).
        # Piped, recorded or replayed, time is virtual: the same input, the same run.
        realtime = self.interactive and self.recorder is None and self.replayer is None
        self.vmm = Vmm(flawed_eret=s.flawed_eret, realtime=realtime)
        if realtime:  # short slices, so a key never waits long behind a busy guest
            self.vmm.slice_cycles, self.vmm.slice_exits = 5_000, 50
        if s.pcap is not None:
            from tuivmm.tools.pcap import PcapError, capture

            try:
                self._pcap = capture(self.vmm, s.pcap)
            except PcapError as exc:
                raise RunError(str(exc)) from None
        for plan in self.plans:
            if plan.program is not None and len(plan.program.data) > plan.ram_mib * MIB:
                raise RunError(f"{plan.image}: the program ({len(plan.program.data)} bytes) does not fit in RAM")
            try:
                if plan.snapshot is not None:
                    guest = self._restore(plan)
                elif plan.program is not None:
                    guest = self.vmm.add_guest(program=plan.program, name=plan.name, ram_size=plan.ram_mib * MIB,
                                               disk=plan.disk, remedy=plan.remedy, net=s.net)  # fmt: skip
                else:
                    guest = self.vmm.add_guest(plan.image, name=plan.name, ram_size=plan.ram_mib * MIB,
                                               disk=plan.disk, remedy=plan.remedy, net=s.net, sbi=plan.sbi)  # fmt: skip
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
            if plan.snapshot is not None and guest.output:
                self.printer.feed(guest.name, bytes(guest.output))  # its console so far, as it was shown
        if self.recorder is not None:
            self.recorder.attach(self.vmm)
        if self.replayer is not None:
            self.replayer.attach(self.vmm, self._replay_quit)

    def _restore(self, plan: GuestPlan):
        """The guest of `plan.snapshot`, restored into this run's VMM."""
        from tuivmm.tools.snapshot import SnapshotError, mac_warning, restore_guest

        try:
            guest = restore_guest(self.vmm, plan.snapshot, name=plan.name, disk=plan.disk)
        except SnapshotError as exc:
            raise RunError(str(exc)) from None
        if (warning := mac_warning(guest)) is not None:
            print(f"tuivmm: {warning}", file=self.stderr, flush=True)
        return guest

    def save_snapshots(self) -> None:
        """--save: write each named guest's snapshot now that the run is over, and say
        so on stderr, one line each.  A crashed guest is not saved (its file is left as
        it was); a snapshot that cannot be written is an error (exit status 2)."""
        from tuivmm.tools.snapshot import SnapshotError, save_guest
        from tuivmm.vmm import GuestState

        for guest in self.guests:
            path = self.settings.save.get(guest.name)
            if path is None:
                continue
            if guest.state is GuestState.CRASHED:
                print(f"tuivmm: {guest.name} crashed, so no snapshot was written to {path}", file=self.stderr)
                continue
            try:
                size = save_guest(guest, path)
            except SnapshotError as exc:
                print(f"tuivmm: {exc}", file=self.stderr)
                self.save_failed = True
                continue
            print(f"tuivmm: saved {guest.name} after {guest.instructions} instructions to {path} "
                  f"({-(-size // 1024)} KiB)", file=self.stderr)  # fmt: skip

    def _first_guest_event(self, event) -> None:
        """Every exit of the first guest while stdin is a pipe still open: hold the guest,
        and every other guest with it, the moment it waits for input (asleep in WFI, or
        polling the UART's line status)
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
        # Bytes still in the UART (the guest has yet to read the last line): it is
        # busy with input, not waiting for more, however it polls.
        if guest.board.uart.rx_pending():
            return
        if (event.reason == T.WFI and guest.vcpu.sleeping) or (
            event.reason == T.MMIO and guest.board.uart.polled_for_input()
        ):
            self.held = True
            self.printer.show_partial(guest.name)  # its prompt, for a script that waits for it
            if self.stubs or self._pump is None:
                guest.pause()  # the slice ends after this exit (a debugger needs the event loop meanwhile)
                return
            # Every guest waits, right here, until the line comes (or stdin ends): the
            # schedule then goes on as if the line had been there all along.  (Pausing
            # only this guest would let the others run ahead, by however long the
            # script took, and change how their frames meet it.)
            while self.held:
                self._pump.deliver(wait=0.2)

    def _trace_event(self, event) -> None:
        try:
            self._trace.write(event.describe() + "\n")
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        if self._pcap is not None:
            from tuivmm.tools.pcap import PcapError

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
            self.save_snapshots()  # the guests are between slices for good; their disks still open
        finally:
            self.printer.finish()
            self.close()
        return self._end_log(self.report())

    def _end_log(self, status: int) -> int:
        """--record: put the log in its place; --replay: check the run went as recorded.
        The exit status."""
        from tuivmm.tools.record import RecordError

        if self.recorder is not None:
            try:
                self.recorder.finish(status)
            except RecordError as exc:
                print(f"tuivmm: {exc}", file=self.stderr)
                return EXIT_SAVE
        if self.replayer is not None:
            problem = self.replayer.verify(status)
            if problem is not None:
                print(f"tuivmm: the replay went differently from the recording: {problem}", file=self.stderr)
                return EXIT_DIVERGED
        return status

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        pump = None
        tasks: list[asyncio.Task] = []
        try:
            await self._start_stubs()
            if self.stdin is not None:
                pump = StdinPump(self.stdin, loop, self._on_input, self._on_input_end, self._on_quit)
                self._pump = pump
                pump.start()
            tasks = [asyncio.create_task(self.vmm.serve(g), name=f"guest {g.name}") for g in self.guests]
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
            for stub in self.stubs:
                await stub.close()

    async def _start_stubs(self) -> None:
        """A GDB stub for each guest planned with a port; each such guest waits at its
        first instruction for the debugger (the run goes on while one is held)."""
        from tuivmm.tools.gdbstub import HOST, GdbStub
        from tuivmm.vmm import VmmError

        for plan, guest in zip(self.plans, self.guests, strict=True):
            if plan.gdb_port is None:
                continue
            try:
                stub = await GdbStub.start(self.vmm, guest, plan.gdb_port, hold=True)
            except VmmError as exc:
                raise RunError(f"{guest.name}: {exc}") from None
            self.stubs.append(stub)
            print(f"[{guest.name}] gdb: waiting on {HOST}:{stub.port}", file=self.stderr, flush=True)

    async def _watch(self, tasks: list[asyncio.Task]) -> None:
        from tuivmm.vmm import GuestState
        from tuivmm.vmm.monitor import LIMIT_REASON

        limit = self.settings.max_insns
        while True:
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # a bug of ours: the guest's task died
            if self.quit:
                if self.recorder is not None:
                    self.recorder.quit()
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
            if self.replayer is not None and not any(g.state is GuestState.RUNNING for g in unfinished):
                self.replayer.due()  # no slice will start: wake a guest (or quit) here if the recording did
                if self.quit or any(g.state is GuestState.RUNNING for g in unfinished):
                    continue
            no_more_input = self.stdin_ended or self.guests[0].state.finished
            if no_more_input and all(g.state is GuestState.IDLE or self._quiet(g) for g in unfinished):
                # Asleep for good: each waits for console input that will not come (the
                # script is done), or for nothing at all.
                for guest in unfinished:
                    self.outcome[guest.name] = "input" if guest.board.uart.rx_interrupt_on() else "idle"
                return
            if any(g.state is GuestState.RUNNING for g in unfinished):
                # Once around: every running guest has had a slice.  Realtime, a guest
                # asleep naps in its task while counted as running: look again shortly.
                await asyncio.sleep(WATCH_NAP_S if self.vmm.realtime else 0)
            else:  # nothing runs: wait for input (or a quit)
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), 0.1)
                except TimeoutError:
                    pass

    def _quiet(self, guest) -> bool:
        """Asleep with its receive interrupt on, all its input taken, and nothing printed
        for QUIET_S seconds of its own time: waiting for more, though a timer is armed
        (an idle Linux always has one).  Virtual time only: realtime runs read a terminal."""
        watch = self._quiet_watches.setdefault(guest.name, QuietWatch())
        if self.vmm.realtime or guest.input or not guest.vcpu.sleeping or not guest.board.uart.rx_interrupt_on():
            watch.forget()
            return False
        v = guest.vcpu
        return watch.quiet(len(guest.output), v.cycles, v.clock.cycles_per_tick)

    def _release(self) -> None:
        if self.held:
            self.held = False
            self.guests[0].resume()

    def _on_input(self, data: bytes) -> None:
        if not self.interactive:
            # Whole lines only, so how the script's writes are cut up cannot matter.
            self._partial += data
            cut = max(self._partial.rfind(b"\n"), self._partial.rfind(b"\r")) + 1
            if not cut:
                return
            data = bytes(self._partial[:cut])
            del self._partial[:cut]
        self._give_input(data)

    def _give_input(self, data: bytes) -> None:
        from tuivmm.vmm import GuestState

        guest = self.guests[0] if self.guests else None
        if guest is not None and not guest.state.finished:
            if self.recorder is not None and guest.state is GuestState.IDLE:
                self.recorder.woke(guest)  # a wall-clock moment: the log keeps its place in the schedule
            guest.send_input(data, interactive=self.interactive)
        self._release()
        self._changed.set()

    def _replay_quit(self) -> None:
        """The recording quit here (Ctrl-A x): so does the replay, before another slice."""
        self.quit = True
        for guest in self.guests:
            guest.pause()
        if self._changed is not None:
            self._changed.set()

    def _on_input_end(self) -> None:
        if self._partial:  # a last line without its end
            self._give_input(bytes(self._partial))
            self._partial.clear()
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
        from tuivmm.tools.debugger import KILLED_REASON

        fail_code = crashed = killed = budget = idle = None
        waiting = [g.name for g in self.guests if self.outcome.get(g.name) == "input"]
        if waiting:
            print(f"tuivmm: the input has ended, and {', '.join(waiting)} "
                  f"{'waits' if len(waiting) == 1 else 'wait'} for more; stopping", file=err)  # fmt: skip
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
            elif guest.state is GuestState.STOPPED and guest.reason == KILLED_REASON:
                print(f"tuivmm: {guest.name} was killed by the debugger (gdb's kill)", file=err)
                killed = True
            elif why == "budget":
                print(f"tuivmm: {guest.name} stopped after {guest.retired_total} instructions "
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
        if self.save_failed:
            return EXIT_SAVE
        if self.quit:
            return EXIT_QUIT
        if fail_code is not None:
            return fail_code
        if crashed:
            return EXIT_CRASH
        if killed:
            return EXIT_KILLED
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
            if guest.verdict is not None:  # eret-escape's ESCAPED or PROTECTED
                lines.append(f"verdict: {guest.verdict}")
            for line in lines:
                print(f"tuivmm: {guest.name}: {line}", file=self.stderr)
