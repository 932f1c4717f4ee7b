"""Guests: each virtual machine on the monitor, its state, controls and views.

`Guest` is one virtual machine: a VCpu, the board's devices around it, a window of
host RAM, its shadow page tables (one per distinct view of memory, made on demand)
and its trap log.  Here is what the dashboard, `tuivmm run`, the debugger and the
tests use of it: its state (`GuestState`), controls (input, pause, resume, stop,
reset, remedy), the halts and console input the run loop hands it, and inspection
(memory map, its page tables beside the shadow's; the address spaces it has used
are in `spaces`, read by spaces.py).  Its exit handlers are in
exits.py (`GuestExits`, which it inherits); the `Vmm` that runs it is in monitor.py.
With `sbi="vmm"` the VMM is its SBI firmware (sbi_server.py): it boots the kernel
behind the image's firmware in virtual S-mode, and answers its SBI calls itself.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from machine.board import Board
from machine.bus import Bus
from machine.clock import TIMEBASE_HZ
from machine.cpu import csrs as C
from machine.loader import load_elf
from machine.memory import RamWindow
from tuivmm.lineup.packaged import VerdictRule, verdict_rule
from tuivmm.vmm import traplog as T
from tuivmm.vmm.bt import BinaryTranslator
from tuivmm.vmm.exits import GuestExits
from tuivmm.vmm.hartview import SHOWN_NUMBERS, HartState
from tuivmm.vmm.sbi_server import SbiServer, kernel_image
from tuivmm.vmm.shadow import ShadowPoolFull, ShadowTable
from tuivmm.vmm.spaces import SatpHistory
from tuivmm.vmm.vcpu import VCpu

if TYPE_CHECKING:  # for type hints only: monitor.py imports this module
    from tuivmm.vmm.monitor import Vmm

PATIENCE = 5_000_000  # as machine.runner: a scripted line waits at most this long
MAX_LAG_CYCLES = TIMEBASE_HZ // 10  # realtime: how far behind the wall clock a sleeping guest may catch up

REMEDIES = ("none", "bt", "pv", "hw")

SRET_BYTES = (0x10200073).to_bytes(4, "little")  # sret, as it sits in memory


class VmmError(Exception):
    """Something the user asked of the VMM that cannot be done (one line)."""


class GuestState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    IDLE = "idle"  # asleep in WFI with no timer armed: waits for input or a frame
    HALTED = "halted"  # powered off (pass or fail)
    CRASHED = "crashed"
    STOPPED = "stopped"  # stopped by the user
    DEBUG = "stopped in debugger"  # held by a debugger (gdbstub.py): runs only when it says so

    @property
    def finished(self) -> bool:
        return self in (GuestState.HALTED, GuestState.CRASHED, GuestState.STOPPED)


class Guest(GuestExits):
    """One virtual machine: a VCpu, the board's devices around it, a RAM window, its
    shadow page tables and its trap log."""

    def __init__(self, vmm: Vmm, name: str, image: str, window: RamWindow, *, remedy: str = "none",
                 disk: str | None = None, disk_read_only: bool = False, mac: bytes | None = None,
                 program=None, sbi: str = "firmware"):  # fmt: skip
        # With the VMM as its SBI, only the kernel behind the image's firmware is loaded:
        # NoKernel if there is none, before anything (a switch port, a disk) is made.
        kernel = kernel_image(load_elf(image)) if sbi == "vmm" and program is None else None
        self.vmm = vmm
        self.name = name
        self.image = image
        self.window = window
        self.remedy = remedy
        self.vcpu = VCpu(window, Bus())
        self.port = vmm.switch.port(name) if mac is not None else None
        self.board = Board(cpu=self.vcpu, disk=disk, disk_read_only=disk_read_only, net=self.port,
                           mac=mac or bytes(6))  # fmt: skip
        self.program = program
        self.sbi = sbi
        self.sbi_server: SbiServer | None = None  # with sbi "vmm", the VMM's SBI (sbi_server.py)
        if program is not None:
            self.board.load_program(program.data, program.entry)
        elif kernel is not None:
            self.board.load_image(kernel)
        else:
            self.board.load(image)
        if sbi == "vmm":
            self.serve_sbi()
            self.sbi_server.boot()
        self.vcpu.on_flush = self._flush_shadows
        self.vcpu.on_flush_page = self._flush_shadow_page
        self.vcpu.on_flush_asid = self._flush_shadow_asid
        self.vcpu.on_view_change = self._view_changed
        if self.port is not None:
            self.port.on_delivery = self.kick
        self.shadows: dict[tuple, ShadowTable] = {}
        self.current: ShadowTable | None = None  # the shadow the real hart is on (None: look again)
        self.current_view: tuple = ()  # (priv, mstatus, satp) `current` was chosen for (Vmm._enter)
        self.spaces = SatpHistory()  # the satp values it has written: its address spaces (spaces.py)
        self.vcpu.on_satp = lambda satp: self.spaces.note(satp, self.vcpu.cycles, window)
        self.log = T.TrapLog(name, vmm.sequence)
        self.log.keep_states(vmm.exit_states_kept)
        self.bt = BinaryTranslator(window) if remedy == "bt" else None
        self.state = GuestState.RUNNING
        self.reason = ""  # why it stopped (crash reason, halt kind)
        self.halt: tuple[str, int] | None = None
        self.hidden_faults = 0
        self.true_faults = 0
        self.flushes = 0
        self.page_flushes = 0  # SFENCE.VMAs that named one page (each a flush of that page only)
        self.direct_instructions = 0  # retired on the real hart
        self.emulated_instructions = 0  # retired by the VMM (CSR, xRET, MMIO, ...)
        self.slices = 0
        self.instruction_limit: int | None = None  # stop (STOPPED, LIMIT_REASON) at this many, in all
        self.retired_earlier = 0  # instructions retired before its last reset
        self.asleep_until = 0.0  # realtime: the wall-clock time its sleep reaches its timer
        self._wall_start = time.perf_counter()
        self._wall_base = 0  # its cycles when the wall clock was last (re)started
        self._stalled = 0
        self.input = bytearray()  # console input not yet handed to the UART
        self.input_interactive = False
        self._fed_at = 0
        self._asked = False  # it has waited for input (asleep or polling) since power-on
        # Record and replay (tuivmm/tools/record.py): `passes` counts turns of the run loop,
        # so it names the exact moment a console chunk reached the UART; `on_feed` hears
        # of every chunk fed; a replay feeds its recorded chunks through `replay_feed`
        # when `passes` reaches `replay_due`.
        self.passes = 0
        self.on_feed: Callable[[bytes], None] | None = None
        self.replay_due = -1
        self.replay_feed: Callable[[Guest], None] | None = None
        self.wake = asyncio.Event()
        self.debug_stub = None  # a tuivmm.tools.gdbstub.GdbStub while one serves this guest
        self.debug_triggers: tuple[tuple[int, int], ...] = ()  # the debugger's, for the real hart
        self._uses_sret: bool | None = None
        self._verdict_rule: tuple[str, VerdictRule | None] | None = None  # (for which image, the rule)
        self._output_since_reset = 0  # where, in `output`, what it printed since its last reset begins
        self.on_output: Callable[[bytes], None] = lambda data: None
        self.board.on_output = lambda data: self.on_output(data)

    # --- what the dashboard and tests read -------------------------------------------

    @property
    def output(self) -> bytearray:
        """Everything the guest has printed on its console."""
        return self.board.output

    @property
    def priv(self) -> int:
        return self.vcpu.priv

    @property
    def pc(self) -> int:
        return self.vcpu.pc

    @property
    def instructions(self) -> int:
        """Instructions retired since the guest last powered on (the guest's minstret)."""
        return self.vcpu.icount

    @property
    def retired_total(self) -> int:
        """Instructions retired since the guest was created, resets or not: what
        --max-insns limits and the guest's MIPS counts."""
        return self.retired_earlier + self.vcpu.icount

    def registers(self) -> list[int]:
        return list(self.vcpu.x)

    def hart_state(self) -> HartState:
        """Its virtual hart now: pc, privilege, x0..x31 and the CSRs a registers view
        shows (hartview.SHOWN_CSRS), read as the guest's own CSR instructions would
        read them (sstatus is the view of mstatus it is), and its instructions retired."""
        v = self.vcpu
        return HartState(v.pc, v.priv, tuple(v.x), tuple(v.csr_read(n) for n in SHOWN_NUMBERS), v.icount)

    @property
    def uses_sret(self) -> bool:
        """Whether the guest's image holds an SRET: a kernel that returns to its user
        programs with one, which the machine's ERET flaw lets run unseen (so, on the
        naive VMM, remedy none, the guest loses track of its mode)."""
        if self._uses_sret is None:
            if self.program is not None:
                chunks = [bytes(self.program.data)]
            else:
                chunks = [segment.data for segment in self.board.image.segments] if self.board.image else []
            self._uses_sret = any(SRET_BYTES in chunk for chunk in chunks)
        return self._uses_sret

    @property
    def verdict(self) -> str | None:
        """For a packaged guest that ends with a verdict on its console (tuivmm/lineup/
        packaged.py, VERDICTS: eret-escape's ESCAPED or PROTECTED), the one it gave
        since it last powered on, once it has halted; None for any other guest, or
        before it has."""
        rule = self.verdict_rule
        if rule is None or self.state is not GuestState.HALTED:
            return None
        found = None
        for found in rule.pattern.finditer(self.output, self._output_since_reset):
            pass
        return found.group(1).decode() if found is not None else None

    @property
    def verdict_rule(self) -> VerdictRule | None:
        """How this guest's console gives its verdict, if it does (looked up by its
        image: a restored guest's is set after it is made)."""
        if self._verdict_rule is None or self._verdict_rule[0] != self.image:
            self._verdict_rule = (self.image, verdict_rule(self.image))
        return self._verdict_rule[1]

    # --- control -----------------------------------------------------------------------

    def send_input(self, data: bytes, *, interactive: bool = True) -> None:
        """Console input: handed to the UART a line at a time when the guest waits for
        it (as `tuivmm bare` does), or at once if `interactive`."""
        self.input += data
        self.input_interactive = interactive
        self.kick()

    def kick(self) -> None:
        """Something arrived for the guest (input, a frame): an idle guest runs again,
        and a guest napping in `Vmm.serve` until its timer (realtime) wakes now."""
        if self.state is GuestState.IDLE:
            self.state = GuestState.RUNNING
        if self.state is GuestState.RUNNING:
            self.wake.set()

    def wall_cycles(self) -> int:
        """Realtime: the guest's cycle count the wall clock has reached."""
        return self._wall_base + int((time.perf_counter() - self._wall_start) * TIMEBASE_HZ)

    def clock_now(self) -> int:
        """The guest's clock (cycles) as it reads now.  Realtime, a guest asleep has its
        sleep's wall time coming to it (the VMM adds it when the guest wakes): count it
        already, up to its timer, so its uptime does not stand still while it idles."""
        v = self.vcpu
        if self.vmm.realtime and v.sleeping and self.state in (GuestState.RUNNING, GuestState.IDLE):
            return max(v.cycles, min(self.wall_cycles(), v.clock.alarm_cycle))
        return v.cycles

    def wall_time(self, cycles: int) -> float:
        """Realtime: the wall-clock time (perf_counter) at which the guest's clock reaches `cycles`."""
        return self._wall_start + (cycles - self._wall_base) / TIMEBASE_HZ

    def fall_asleep(self) -> None:
        """Realtime: the guest sleeps in WFI, and its sleep follows the wall clock from
        here.  The time its clock lost to the wall clock while it computed (guest time
        counts instructions, and Python retires them slowly) is caught up, but only up
        to MAX_LAG_S: a timer tick's few milliseconds of work, not the minutes of a
        benchmark, so `sleep 5` after a long computation still takes five seconds."""
        lag = self.wall_cycles() - self.vcpu.cycles
        if lag > MAX_LAG_CYCLES:
            self._wall_base -= lag - MAX_LAG_CYCLES

    def wake_up(self) -> None:
        """Realtime: an interrupt ends the guest's sleep (input, a frame, a timer): the
        time it slept on the wall clock has passed for it too (up to its timer)."""
        v = self.vcpu
        reached = min(self.wall_cycles(), v.clock.alarm_cycle)
        if reached > v.cycles:
            v.idle_cycles += reached - v.cycles

    def pause(self) -> None:
        if self.state in (GuestState.RUNNING, GuestState.IDLE):
            self.state = GuestState.PAUSED

    def resume(self) -> None:
        if self.state is GuestState.PAUSED:
            self.state = GuestState.RUNNING
            self._wall_start, self._wall_base = time.perf_counter(), self.vcpu.cycles  # no catching up
            self.wake.set()

    def stop(self) -> None:
        if not self.state.finished:
            self.state = GuestState.STOPPED
            self.reason = "stopped"
            self.wake.set()

    def reset(self, why: str = "reset") -> None:
        """Power-cycle the guest: a fresh machine.  Devices, virtual hart, RAM (zeroed,
        the image loaded again), its clock from zero, and its counters (exits,
        faults, instructions) from zero; the trap log keeps what it had, with a
        reset line after it (`why` says who asked).  The disk keeps its data.  A guest
        held by a debugger stays held, at its first instruction."""
        held = self.state is GuestState.DEBUG
        self._flush_shadows(True)
        if self.bt is not None:
            self.bt = BinaryTranslator(self.window)
        if self.vmm.loaded is self:
            self.vmm.unload()
        v = self.vcpu
        self.retired_earlier += v.icount
        v.icount = v.idle_cycles = 0
        v.clock.restart()
        self.window.fill(0)
        self.board.reset()  # the CLINT's alarm is set against the clock from zero
        if self.program is not None:
            self.board.load_program(self.program.data, self.program.entry)
        if self.sbi_server is not None:
            self.sbi_server.boot()  # no firmware to do it: the kernel starts again at once
        self.halt = None
        self.reason = ""
        self._stalled = 0
        self._asked = False
        self._output_since_reset = len(self.output)
        self.hidden_faults = self.true_faults = self.flushes = self.page_flushes = 0
        self.direct_instructions = self.emulated_instructions = self.slices = 0
        self.spaces.clear()
        self.log.restart(v.pc, why)
        self.state = GuestState.DEBUG if held else GuestState.RUNNING
        if self.debug_stub is not None:
            self.debug_stub.guest_reset()  # the image came back over its breakpoints
        self._wall_start, self._wall_base = time.perf_counter(), 0
        self.wake.set()

    def serve_sbi(self) -> None:
        """From now on the VMM answers the guest's SBI calls (sbi "vmm"): at creation,
        or on a guest restored from a snapshot that was saved so."""
        self.sbi = "vmm"
        self.sbi_server = SbiServer(self)

    def zero_counters(self, why: str = "zeroed") -> None:
        """Start the guest's counters again from zero — exits by reason and by action,
        hidden and true faults, shadow flushes, instructions run directly and emulated —
        while it runs on as it was (a reset also gives it a fresh machine).  The trap log
        keeps its lines, with a line after them saying so (`why`: who asked)."""
        self.hidden_faults = self.true_faults = self.flushes = self.page_flushes = 0
        self.direct_instructions = self.emulated_instructions = self.slices = 0
        v = self.vcpu
        self.log.zero(v.cycles, v.pc, v.priv, why)

    def set_remedy(self, remedy: str) -> None:
        """Change how the VMM copes with the ERET flaw for this guest, while it runs.
        Switching binary translation on scans code afresh; switching it off puts the
        guest's original instructions back."""
        if remedy not in REMEDIES:
            raise VmmError(f"unknown remedy {remedy!r} (choose from {', '.join(REMEDIES)})")
        if remedy == self.remedy:
            return
        if self.bt is not None:
            for page in list(self.bt.scanned):
                self.bt.unscan(page)
            self.bt = None
        if remedy == "bt":
            self.bt = BinaryTranslator(self.window)
        self.remedy = remedy
        self._flush_shadows(False)  # pages mapped under the old remedy are looked at again
        if self.vmm.loaded is self:
            self.vmm.hart.trap_xret = remedy == "hw"

    def crash(self, reason: str) -> None:
        self.state = GuestState.CRASHED
        self.reason = reason
        self.log.record(self.vcpu.cycles, self.vcpu.pc, self.vcpu.priv, 0, 0, T.EXCEPTION, T.CRASHED, reason)
        if self.vmm.loaded is self:
            self.vmm.unload()

    # --- shadows -----------------------------------------------------------------------

    def context_key(self) -> tuple:
        """Which shadow the guest's current mode needs.  Each distinct view of memory
        gets its own, so guest user code never runs on the kernel's view."""
        v = self.vcpu
        priv = v.priv
        if priv == C.M:
            return ("mprv",) if v.mstatus & C.MSTATUS_MPRV else ("m",)
        mxr = bool(v.mstatus & C.MSTATUS_MXR)
        if not v.satp & C.SATP_MODE:
            return ("bare", priv)
        if priv == C.S:
            return ("s", v.satp, bool(v.mstatus & C.MSTATUS_SUM), mxr)
        return ("u", v.satp, mxr)

    def shadow(self) -> ShadowTable:
        key = self.context_key()
        table = self.shadows.get(key)
        if table is None:
            lo = self.window.host_base
            try:
                table = ShadowTable(self.vmm.pool, key, lo, lo + self.window.size)
            except ShadowPoolFull:
                self._flush_shadows(True)
                table = ShadowTable(self.vmm.pool, key, lo, lo + self.window.size)
            self.shadows[key] = table
        return table

    def _restrict_everywhere(self, gpa_page: int, bits: int) -> None:
        """Take `bits` (PTE_W, PTE_X) from every shadow's mappings of guest page
        `gpa_page` — binary translation scanned it (no writes while its patches stand)
        or unscanned it (no runs until it is scanned again) — in every view, virtual
        M-mode's too, which no satp write or SFENCE.VMA drops."""
        hpa = self.window.host_base + (gpa_page - self.window.base)
        changed = False
        for key, table in self.shadows.items():
            identity = key[0] == "m" or key[0] == "bare"  # virtual = guest-physical
            changed |= table.restrict(hpa, bits, gpa_page if identity else None)
        if changed:
            self.vmm.hart.drop_address_spaces()

    def _flush_shadows(self, pmp_changed: bool = True) -> None:
        """SFENCE.VMA, satp, SUM/MXR or PMP changed: drop the shadows that depend on
        them (all of them but virtual M-mode's, which depends on nothing but PMP)."""
        self.flushes += 1
        for key in list(self.shadows):
            if key == ("m",) and not pmp_changed:
                continue
            self.shadows.pop(key).release()
        self.current = None
        self.vmm.hart.drop_address_spaces()  # their roots may come back as other tables

    def _drop_shadows(self, keys: list[tuple]) -> None:
        """Release the shadows `keys` name, and the real hart's TLBs filled under them."""
        hart = self.vmm.hart
        for key in keys:
            table = self.shadows.pop(key)
            if table is self.current:
                self.current = None
            hart.forget_address_space(table.satp)
            table.release()

    def _flush_shadow_asid(self, asid: int) -> None:
        """SFENCE.VMA naming an ASID: the guest changed that address space's tables.  Its
        shadows go (the kernel's and the user's views of it, whatever SUM and MXR);
        other processes' stay.  (Global mappings need not go, the spec says; going
        is allowed, and simpler.)"""
        self.flushes += 1
        self._drop_shadows([key for key in self.shadows if key[0] in ("s", "u") and (key[1] >> 22) & 0x1FF == asid]
                           + [key for key in self.shadows if key[0] == "mprv"])  # fmt: skip

    def _view_changed(self) -> None:
        """satp, SUM or MXR changed: the shadows stay, each keyed by its view — but
        virtual M-mode's MPRV view is keyed by nothing of them, so it goes."""
        if ("mprv",) in self.shadows:
            self._drop_shadows([("mprv",)])

    def _flush_shadow_page(self, va: int) -> None:
        """SFENCE.VMA naming `va`: the guest changed (at most) the leaf that maps it, in
        any address space.  Every shadow built from the guest's page tables forgets that
        page — or the whole 4 MiB region, where a guest megapage filled it — and so do
        the real hart's TLBs; the rest of every shadow stays.  (A kernel mapping its
        RAM a page at a time sends thousands of these: dropping every shadow on each,
        as a full flush must, would refill the same pages again and again.)"""
        self.page_flushes += 1
        page = va & 0xFFFF_F000
        whole_region = False
        for key, table in self.shadows.items():
            if key[0] in ("m", "bare"):
                continue  # untranslated views: no guest page table behind them
            whole_region |= table.forget(page)
        if whole_region:
            self.vmm.hart.drop_address_spaces()
        else:
            self.vmm.hart.forget_page_everywhere(page >> 12)

    # --- input, halts ------------------------------------------------------------------

    def offer_input(self) -> None:
        """Hand the next console line to the UART if the guest is waiting for one."""
        if not self.input:
            return
        uart = self.board.uart
        if uart.rx_pending():
            return
        v = self.vcpu
        hears = uart.rx_interrupt_on()  # the bare runner's rule (machine/runner.py)
        asks = (v.sleeping and hears) or uart.polled_for_input()
        self._asked |= asks
        waiting = (self.input_interactive or asks
                   or (self._asked and hears and v.icount - self._fed_at >= PATIENCE))  # fmt: skip
        if not waiting:
            return
        if self.input_interactive:
            line = bytes(self.input)
        else:
            end = self.input.find(b"\n")
            if end < 0:
                end = self.input.find(b"\r")
            line = bytes(self.input if end < 0 else self.input[: end + 1])
        del self.input[: len(line)]
        self.feed_console(line)

    def feed_console(self, data: bytes) -> None:
        """Hand `data` to the guest's UART receiver now (its interrupt rises at once)."""
        self.board.uart.feed(data)
        self._fed_at = self.vcpu.icount
        if self.on_feed is not None:
            self.on_feed(data)

    def _check_halt(self) -> bool:
        halted = self.vcpu.halted
        if halted is None:
            return False
        kind, code = halted
        self.vcpu.halted = None
        if kind == "reset":
            server = self.sbi_server
            by = "sbi system_reset" if server is not None and server.take_reset_request() else "finisher"
            self.reset(f"reset by the guest ({by})")
            return True
        self.halt = (kind, code)
        self.reason = kind if kind != "fail" else f"fail (code {code})"
        self.state = GuestState.HALTED
        if self.vmm.loaded is self:
            self.vmm.unload()
        return True

    # --- inspection ----------------------------------------------------------------------

    def memory_map(self) -> list[tuple[int, int, str, int | None]]:
        """The guest-physical map: (start, end, what, host-physical start or None)."""
        regions = [(base, end, name, None) for base, end, name in self.vcpu.bus.regions()]
        regions.append((self.window.base, self.window.base + self.window.size, "ram", self.window.host_base))
        return sorted(regions)

    def page_table_view(self, limit: int = 4096) -> list[tuple[int, int | None, int, int | None, int]]:
        """The guest's own mappings beside the shadow's, for the guest's current mode:
        (guest-virtual page, guest-physical page or None, guest PTE bits (0 if none),
        host-physical page or None, shadow perms (PTE_R|W|X, 0 if not filled)).
        Untranslated modes (virtual M, bare S/U) list the shadow's pages as va = gpa."""
        table = self.shadows.get(self.context_key())
        shadow = {va: (hpa, perms) for va, hpa, perms in (table.mappings() if table else [])}
        rows = []
        seen = set()
        for va, gpa, bits in self.guest_mappings(limit):
            hpa, perms = shadow.get(va, (None, 0))
            rows.append((va, gpa, bits, hpa, perms))
            seen.add(va)
        translated = bool(self.vcpu.satp & C.SATP_MODE) and self.vcpu.priv != C.M
        for va, (hpa, perms) in sorted(shadow.items()):
            if va not in seen:
                rows.append((va, None if translated else va, 0, hpa, perms))
        rows.sort()
        return rows[:limit]

    def guest_mappings(self, limit: int = 4096) -> list[tuple[int, int, int]]:
        """The guest's own Sv32 mappings in its current satp: (va, gpa, pte bits), pages
        of megapages included one by one, at most `limit`."""
        v = self.vcpu
        if not v.satp & C.SATP_MODE:
            return []
        ram = v.ram
        found = []
        root = (v.satp & C.SATP_PPN) << 12
        for i in range(1024):
            addr = root + 4 * i
            if not ram.contains(addr, 4):
                break
            pte = ram.read_u32(addr)
            if not pte & 1:
                continue
            if pte & 0xA:
                for j in range(1024):
                    found.append(((i << 22) | (j << 12), ((pte >> 20) << 22) | (j << 12), pte & 0x3FF))
                    if len(found) >= limit:
                        return found
                continue
            table = (pte >> 10) << 12
            for j in range(1024):
                if not ram.contains(table + 4 * j, 4):
                    break
                leaf = ram.read_u32(table + 4 * j)
                if leaf & 1:
                    found.append(((i << 22) | (j << 12), (leaf >> 10) << 12, leaf & 0x3FF))
                    if len(found) >= limit:
                        return found
        return found
