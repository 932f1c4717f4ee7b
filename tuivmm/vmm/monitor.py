"""The monitor: guests as virtual machines on one real hart, by trap and emulate.

The real machine is a `Hart` in host mode over host RAM:

    host RAM   [ shadow page-table pool | guest 1 RAM | guest 2 RAM | ... | free ]

Guest code always runs on the real hart in U-mode, with satp on one of that guest's
shadow page tables (shadow.py) and PMP confining it to its own RAM window.  The
guest's view — privilege, CSRs, interrupts — lives in its `VCpu`, which is the
machine's own `ArchState`, so every rule the hardware follows, the virtual hart
follows too.  What the guest cannot do directly traps to the VMM, and
`Guest.handle_exit` dispatches on the exit:

    illegal instruction   a privileged instruction (CSR, SRET/MRET, WFI, SFENCE.VMA):
                          emulate it on the VCpu, or inject the exception the guest's
                          own hardware would raise (a user program touching a CSR)
    ecall                 inject "ecall from <virtual mode>" at the guest's vector, or
                          serve a hypercall (the pv remedy), or with --sbi vmm serve
                          the kernel's SBI call itself (sbi_server.py)
    page fault            hidden (the shadow lacks a page the guest maps: fill it),
                          true (the guest's table forbids it: inject it), or a device
                          (the guest-physical address is MMIO: decode the load/store
                          and call the guest's device)
    breakpoint            a debug trigger fired (the guest's own, loaded onto the real
                          hart at each entry: triggers.py; or a debugger's), or an
                          EBREAK ran (a debugger's, or the guest's): inject it or stop
    anything else         inject it (misaligned accesses, ...)

Interrupts: the guest's devices set bits in its VCpu's mip; after every exit and at
every slice start the VMM asks the VCpu (`pending_interrupt`, the hardware's own
rule) and injects the one it would take.  Time: each guest's clock counts only its
own instructions (and the time it sleeps), and a slice never runs past the guest's
next timer alarm, so interrupts arrive at exactly the instruction they would on the
bare machine, and the same input gives the same run, every time.

Scheduling: each guest runs slice after slice of `slice_cycles` of its own virtual
time (instructions, or time asleep in WFI), so all guests' clocks advance together;
`run_round` runs each running guest one slice, and `serve` does the same as one
asyncio task per guest.  Loading another guest onto the real hart is a world switch:
its registers, its shadow's satp (which flushes the real TLBs), its PMP window, and
the ERET-flaw controls for its remedy.

Where it lives: this module holds `Vmm` (host RAM, the world switch, the run loop);
guest.py holds `Guest` (one virtual machine: its state, controls and views) and
`GuestState`; exits.py holds `GuestExits`, the exit handlers `Guest` inherits.  The
names other modules import from here (`Guest`, `GuestState`, `GuestCrash`,
`VmmError`, `REMEDIES`, `decode`, ...) are still importable from here.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

from machine.board import RAM_BASE
from machine.bus import Bus
from machine.clock import NEVER
from machine.cpu import csrs as C
from machine.cpu.hart import Hart
from machine.cpu.trap import Exit, ExitKind
from machine.loader import LoadError
from machine.memory import Ram, RamWindow
from tuivmm.vmm import traplog as T

# Some used here; all also imported from here by other modules and the tests (hence noqa: F401).
from tuivmm.vmm.exits import (  # noqa: F401
    _LOADS,
    _STORES,
    AROUND,
    DOOR_PAGE,
    HV_EID,
    HV_SRET,
    MRET_DOOR,
    GuestCrash,
    decode,
)
from tuivmm.vmm.guest import PATIENCE, REMEDIES, Guest, GuestState, VmmError  # noqa: F401
from tuivmm.vmm.sbi_server import SBI_MODES, NoKernel
from tuivmm.vmm.shadow import ShadowPool, ShadowPoolFull
from tuivmm.vmm.switch import VirtualSwitch
from tuivmm.vmm.triggers import real_triggers

MIB = 1024 * 1024
HOST_RAM_SIZE = 2048 * MIB - 4096  # RAM_BASE + this stays below 4 GiB
SHADOW_POOL_SIZE = 32 * MIB
WINDOW_ALIGN = MIB
DEFAULT_GUEST_RAM = 128 * MIB
SLICE_CYCLES = 20_000  # guest cycles per slice: a few milliseconds of host time
SLICE_EXITS = 200  # ... or this many exits, whichever comes first (about 5 ms of host time)
STUCK_EXITS = 20_000  # exits in a row without one instruction retiring: the guest is stuck
MAX_NAP_S = 0.25  # realtime: the longest a sleeping guest's task waits before it looks again
DEFER_NAP_S = 0.002  # how long a guest's task waits when `defer` says others go first

LIMIT_REASON = "instruction limit reached"


class Vmm:
    """The monitor: the real machine, its guests, and the loop that runs them."""

    def __init__(self, *, flawed_eret: bool = False, host_ram_size: int = HOST_RAM_SIZE,
                 slice_cycles: int = SLICE_CYCLES, realtime: bool = False):  # fmt: skip
        """`realtime`: a guest asleep in WFI may not let its time run ahead of the wall
        clock (for the dashboard, where people watch `uptime` and `sleep`); off, time
        skips to the next timer at once, and a run depends only on its input."""
        self.realtime = realtime
        self.host_ram = Ram(RAM_BASE, host_ram_size)
        self.hart = Hart(self.host_ram, Bus())
        self.hart.host_mode = True
        self.hart.flawed_eret = flawed_eret
        self.pool = ShadowPool(self.host_ram, 0, SHADOW_POOL_SIZE // 4096)
        self.switch = VirtualSwitch()
        self.sequence = T.Sequence()
        self.guests: list[Guest] = []
        self.loaded: Guest | None = None
        self.slice_cycles = slice_cycles
        self.slice_exits = SLICE_EXITS
        self._windows: list[tuple[int, int]] = [(SHADOW_POOL_SIZE, host_ram_size - SHADOW_POOL_SIZE)]
        self._macs = 0
        self.world_switches = 0
        self.slices_run = 0  # slices run, all guests together: a place in the schedule
        # Called before each slice, with the guest about to run; it may stop that guest.
        # A replay uses it to wake a guest or quit at the place the recording did.
        self.before_slice: Callable[[Guest], None] | None = None
        # Asked by a guest's task (`serve`) before its slice: True lets the others go
        # first for a moment.  The dashboard uses it for a keystroke: the guest it goes
        # to, and the screen showing its echo, do not wait behind a round of slices.
        self.defer: Callable[[Guest], bool] | None = None
        self._one_slice_a_turn = asyncio.Lock()  # realtime: see serve()
        self.exit_states_kept = 0  # see keep_exit_states
        self.loaded_triggers: tuple[tuple[int, int], ...] = ()  # on the real hart now (triggers.py)
        # The slice being run (run_slice): its guest, where it ends on the guest's clock, exits it
        # may still make, whether its end is exact; and the real hart's icount at the
        # last entry (`_enter`), from which `_account` counts what the guest ran.
        self._slice_end = 0
        self._exits_left = 0
        self._exact = False
        self._slice_guest: Guest | None = None
        self._entered_at = 0
        self.fast_exits = True

    def keep_exit_states(self, count: int) -> None:
        """Each guest, now and later, keeps what each of its newest `count` exits did
        to it (exitstate.py; the trap inspector shows it); 0: none."""
        self.exit_states_kept = count
        for guest in self.guests:
            guest.log.keep_states(count)

    @property
    def flawed_eret(self) -> bool:
        """The machine's ERET flaw (SRET/MRET run in U-mode instead of trapping)."""
        return self.hart.flawed_eret

    @flawed_eret.setter
    def flawed_eret(self, on: bool) -> None:
        self.hart.flawed_eret = on

    # --- guests ------------------------------------------------------------------------

    def free_name(self, base: str) -> str:
        """The name a guest asking for `base` gets: base, or base-2, base-3, ... if taken."""
        taken = {g.name for g in self.guests}
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        return name

    def add_guest(self, image: str | os.PathLike[str] | None = None, *, name: str | None = None,
                  ram_size: int = DEFAULT_GUEST_RAM, disk: str | None = None, disk_read_only: bool = False,
                  remedy: str = "none", net: bool = True, program=None, paused: bool = False,
                  sbi: str = "firmware") -> Guest:  # fmt: skip
        """Create a guest from an ELF image (or `program`, a `machine.cpu.asm.Program`:
        raw code at the start of its RAM) and start it, in virtual M-mode at its entry.
        `sbi` "vmm": the VMM is its SBI firmware (sbi_server.py), and it starts in
        virtual S-mode at the kernel behind the image's own firmware."""
        if (image is None) == (program is None):
            raise VmmError("a guest needs an image or a program, not both")
        if remedy not in REMEDIES:
            raise VmmError(f"unknown remedy {remedy!r} (choose from {', '.join(REMEDIES)})")
        if sbi not in SBI_MODES:
            raise VmmError(f"unknown sbi {sbi!r} (choose from {', '.join(SBI_MODES)})")
        if sbi == "vmm" and program is not None:
            raise VmmError("--sbi vmm starts the kernel behind an ELF image's firmware; a program has none")
        if ram_size <= 0 or ram_size % 4096:
            raise VmmError("guest RAM must be a positive number of 4 KiB pages")
        name = self.free_name(name or (Path(image).stem if image is not None else "program"))
        offset = self._allocate(ram_size)
        window = RamWindow(self.host_ram, offset, RAM_BASE, ram_size)  # zero: never used, or wiped
        mac = None
        if net:
            self._macs += 1
            mac = bytes([0x52, 0x54, 0, 0, 0, self._macs & 0xFF])
        try:
            guest = Guest(self, name, str(image or "(program)"), window, remedy=remedy, disk=disk,
                          disk_read_only=disk_read_only, mac=mac, program=program, sbi=sbi)  # fmt: skip
        except (LoadError, OSError, NoKernel) as exc:
            window.fill(0)
            self._release(offset, ram_size)
            raise VmmError(str(exc)) from None
        if paused:
            guest.state = GuestState.PAUSED
        self.guests.append(guest)
        return guest

    def remove_guest(self, guest: Guest) -> None:
        guest.stop()
        if guest.debug_stub is not None:
            guest.debug_stub.guest_changed()  # a debugger waiting on it hears it is gone
        if self.loaded is guest:
            self.unload()
        guest._flush_shadows(True)
        if guest.port is not None:
            self.switch.unplug(guest.port)
        guest.board.close()
        self.guests.remove(guest)
        guest.window.fill(0)  # the next guest there starts from zeroed RAM, as on power-on
        self._release(guest.window.host_offset, guest.window.size)

    def _allocate(self, size: int) -> int:
        size = -(-size // WINDOW_ALIGN) * WINDOW_ALIGN
        for i, (offset, length) in enumerate(self._windows):
            if length >= size:
                self._windows[i] = (offset + size, length - size)
                return offset
        free = sum(length for _, length in self._windows) // MIB
        raise VmmError(f"host RAM is full: a guest of {size // MIB} MiB does not fit ({free} MiB free)")

    def _release(self, offset: int, size: int) -> None:
        size = -(-size // WINDOW_ALIGN) * WINDOW_ALIGN
        self._windows.append((offset, size))
        self._windows.sort()
        merged: list[tuple[int, int]] = []
        for off, length in self._windows:
            if merged and merged[-1][0] + merged[-1][1] == off:
                merged[-1] = (merged[-1][0], merged[-1][1] + length)
            else:
                merged.append((off, length))
        self._windows = merged

    def host_map(self) -> list[tuple[int, int, str]]:
        """Host RAM by owner: (host-physical start, end, "shadow pool" / guest name / "free")."""
        base = self.host_ram.base
        regions = [(base, base + SHADOW_POOL_SIZE, f"shadow pool ({self.pool.used} of {self.pool.pages} pages used)")]
        for g in self.guests:
            regions.append((g.window.host_base, g.window.host_base + g.window.size, g.name))
        for off, length in self._windows:
            if length:
                regions.append((base + off, base + off + length, "free"))
        return sorted(regions)

    # --- the world switch ----------------------------------------------------------------

    def load(self, guest: Guest) -> None:
        """Put `guest` on the real hart."""
        if self.loaded is guest:
            return
        if self.loaded is not None:
            self.unload()
        hart = self.hart
        v = guest.vcpu
        hart.x[:] = v.x
        v.x = hart.x  # while loaded, the guest's registers are the real ones
        hart.priv = C.U
        lo, hi = guest.window.host_base, guest.window.host_base + guest.window.size
        pool_lo = self.host_ram.base
        pool_hi = pool_lo + SHADOW_POOL_SIZE
        # PMP: the guest's window, read-write-execute; the shadow pool, readable (for
        # the real MMU's walks); nothing else.  Entries 1 and 3 are TOR.
        hart.pmpaddr[:4] = [lo >> 2, hi >> 2, pool_lo >> 2, pool_hi >> 2]
        hart.pmpcfg[0] = (0x08 | 7) << 8 | (0x08 | 1) << 24
        # No flush: every kept address space belongs to one guest (its shadow roots)
        # and was filled under that guest's own PMP.
        hart._rebuild_pmp(flush=False)
        hart.trap_xret = guest.remedy == "hw"
        self.loaded = guest
        guest.current = None
        self.world_switches += 1

    def unload(self) -> None:
        guest = self.loaded
        if guest is None:
            return
        v = guest.vcpu
        v.x = list(self.hart.x)
        self.loaded = None

    def _enter(self, guest: Guest) -> None:
        """Point the real hart at the shadow for the guest's current mode, at its pc."""
        hart = self.hart
        v = guest.vcpu
        # The shadow depends on the guest's privilege, mstatus and satp only (context_key);
        # while they stand and no flush dropped it (which clears `current`), it stays.
        view = (v.priv, v.mstatus, v.satp)
        if guest.current is None or view != guest.current_view:
            table = guest.shadow()
            if guest.current is not table or hart.satp != table.satp:
                guest.current = table
                hart.switch_address_space(table.satp)
            guest.current_view = view
        hart.pc = v.pc
        hart.priv = C.U
        self._entered_at = hart.icount
        # The naive part: the guest's supervisor state sits in the real CSRs, so an
        # SRET the flawed hardware lets run goes where the guest kernel meant.
        hart.sepc = v.sepc
        hart.mepc = MRET_DOOR
        hart.mstatus = 0
        if v.trig_armed or guest.debug_triggers or self.loaded_triggers:
            pairs = real_triggers(v, guest.debug_triggers)
            if pairs != self.loaded_triggers:
                hart.load_triggers(pairs)
                self.loaded_triggers = pairs

    def trigger_hits(self) -> list[int]:
        """After a breakpoint exit: the real hart's triggers that raised it (triggers.py
        numbers them: the guest's first, then the debugger's), hit bits cleared; [] for
        an EBREAK."""
        return self.hart.take_trigger_hits() if self.loaded_triggers else []

    # --- running -----------------------------------------------------------------------

    def run_slice(self, guest: Guest, cycles: int | None = None, *, exact: bool = False) -> None:
        """Run `guest` for up to `cycles` of its virtual time (default: one slice), or
        until it has made `slice_exits` exits (so a guest that traps all the time does
        not hold the host for long).  The end may run a few instructions over (to the
        end of a translated block) unless `exact`; either way it is deterministic.

        A turn of the loop (`_turn`) looks at the guest — input, timers, interrupts,
        sleep, the slice's end — and gives the real hart's budget; the hart runs the
        guest until it exits; `_exit` handles the exit.  With `fast_exits` the hart
        calls `_exit_hook` for each exit from inside its run loop, which does the same
        `_exit`, `_turn` and `_enter` in the same order, so the guest runs exactly as
        it would without it — only the return to here and the new `run` are saved."""
        if guest.state is not GuestState.RUNNING:
            return
        if self.before_slice is not None:
            self.before_slice(guest)
            if guest.state is not GuestState.RUNNING:
                return
        self.slices_run += 1
        hart = self.hart
        self._slice_end = guest.vcpu.cycles + (cycles or self.slice_cycles)
        self._exits_left = self.slice_exits
        self._exact = exact
        self._slice_guest = guest
        guest.slices += 1
        try:
            self.load(guest)
            while True:
                budget = self._turn(guest)
                if budget is None:
                    return
                self._enter(guest)
                exit_ = hart.run(*budget)
                kind = exit_.kind
                if kind is ExitKind.HANDLED:
                    return  # the hook handled the exits and took the turns; the slice is over
                if kind is ExitKind.TRAP:
                    self._exit(guest, exit_)
                elif kind is not ExitKind.BUDGET:
                    raise GuestCrash(f"unexpected exit from the real hart: {exit_.describe()}")
                else:
                    self._account(guest)
                    guest._stalled = 0
        except GuestCrash as exc:
            guest.crash(str(exc))
        except ShadowPoolFull as exc:
            guest.crash(str(exc))
        except Exception as exc:  # noqa: BLE001 -- a bug of the VMM's: it costs this guest only
            guest.crash(f"the VMM could not emulate this: {type(exc).__name__}: {exc}")

    @property
    def fast_exits(self) -> bool:
        """Whether the real hart hands exits to the VMM inside its run loop (the
        default); off, each exit returns from `Hart.run` to `run_slice`.  The two give
        the same run — the tests compare them."""
        return self.hart.exit_hook is not None

    @fast_exits.setter
    def fast_exits(self, on: bool) -> None:
        self.hart.exit_hook = self._exit_hook if on else None

    def _turn(self, guest: Guest) -> tuple[int, int | None] | None:
        """One turn of the slice's loop, between two runs of the real hart: console
        input, the guest's timer, halts, interrupts and WFI sleep, then the budget
        for the next run — (max_instructions, soft) for `Hart.run` — or None when
        the slice is over (its time or exits used up, or the guest stopped)."""
        v = guest.vcpu
        clock = v.clock
        end = self._slice_end
        while guest.state is GuestState.RUNNING and self._exits_left > 0:
            guest.passes += 1
            if guest.passes == guest.replay_due:
                guest.replay_feed(guest)
            if guest.input:
                guest.offer_input()
            if v.icount + v.idle_cycles >= clock.alarm_cycle:  # (v.cycles, without the property's call)
                clock.fire_due()
            if v.halted is not None and guest._check_halt():
                return None
            if (v.mip_hw | v.mip_sw) & v.mie:  # (v.mip & v.mie)
                if v.sleeping and self.realtime:
                    guest.wake_up()  # the sleep lasted as long as it did on the wall clock
                v.sleeping = False  # WFI ends when an enabled interrupt is pending, taken or not
                guest.deliver_interrupt()
            if v.sleeping:
                if self.realtime:
                    guest.fall_asleep()
                alarm = v.clock.alarm_cycle
                if alarm >= NEVER:
                    if not guest.input:
                        guest.state = GuestState.IDLE
                        guest.wake.clear()
                    return None
                target = min(alarm, end)
                if self.realtime:
                    # Sleeping time follows the wall clock: the guest naps (in
                    # `serve`) until the wall clock reaches its timer, however far
                    # past this slice's end (an idle kernel's next tick may be a
                    # second away): waking at each slice's end would cost the host
                    # hundreds of empty slices a second.  Input, a frame or a
                    # command cuts the nap short.
                    allowed = guest.wall_cycles()
                    if allowed < alarm:
                        if allowed > v.cycles:
                            v.idle_cycles += allowed - v.cycles
                        guest.asleep_until = guest.wall_time(alarm)
                        return None
                if target > v.cycles:
                    v.idle_cycles += target - v.cycles
                if v.cycles >= end:
                    return None
                continue
            now = v.icount + v.idle_cycles
            if now >= end:
                return None
            alarm = clock.alarm_cycle - now  # exact: the guest's timer fires right there
            if alarm <= 0:
                continue
            if guest.instruction_limit is not None:
                left = guest.instruction_limit - guest.retired_total
                if left <= 0:
                    guest.state = GuestState.STOPPED
                    guest.reason = LIMIT_REASON
                    return None
                alarm = min(alarm, left)
            if self._exact:
                return min(alarm, end - now), None
            return alarm, end - now  # the slice's end may run a block over
        return None

    def _account(self, guest: Guest) -> int:
        """The real hart stopped: what it ran since `_enter` is the guest's.  Returns
        how many instructions that was."""
        hart = self.hart
        v = guest.vcpu
        ran = hart.icount - self._entered_at
        self._entered_at = hart.icount
        v.pc = hart.pc
        v.icount += ran
        guest.direct_instructions += ran
        return ran

    def _exit(self, guest: Guest, exit_: Exit) -> None:
        """A TRAP exit from the real hart: count it against the slice, and handle it."""
        ran = self._account(guest)
        self._exits_left -= 1
        guest._stalled = 0 if ran else guest._stalled + 1
        if guest._stalled > STUCK_EXITS:
            raise GuestCrash("stuck: it traps again and again without retiring an instruction")
        guest.handle_exit(exit_)
        if guest.vcpu.halted is not None:
            guest._check_halt()

    def _exit_hook(self, exit_: Exit) -> tuple[int, int | None] | None:
        """The real hart's `exit_hook` (see `fast_exits`): what `run_slice` does from
        a TRAP exit to the next `Hart.run` — handle it, take a turn, enter again —
        giving back that run's budget, or None when the slice is over."""
        guest = self._slice_guest
        hart = self.hart
        while True:
            self._exit(guest, exit_)
            budget = self._turn(guest)
            if budget is None:
                return None
            self._enter(guest)
            # Entered at another CSR instruction (a kernel's trap handler saving and
            # restoring state): its exit, as the hart would make it, without running it.
            exit_ = hart.trap_at_pc()
            if exit_ is None:
                return budget

    def step(self, guest: Guest) -> None:
        """Single-step a paused (or running) guest: one instruction retired, or one
        exit handled.  It stays (or becomes) paused; one a debugger holds stays held."""
        if guest.state.finished:
            return
        held = guest.state is GuestState.DEBUG
        guest.state = GuestState.RUNNING
        before = (guest.vcpu.icount, guest.log.total)
        for _ in range(64):  # a few hidden faults may come before the instruction retires
            self.run_slice(guest, 1, exact=True)
            if guest.state is not GuestState.RUNNING or (guest.vcpu.icount, guest.log.total) != before:
                break
        if guest.state is GuestState.RUNNING or guest.state is GuestState.IDLE:
            guest.state = GuestState.DEBUG if held else GuestState.PAUSED

    def run_round(self) -> bool:
        """One slice for every running guest, in order; False when none ran."""
        ran = False
        for guest in list(self.guests):
            if guest.state is GuestState.RUNNING:
                self.run_slice(guest)
                ran = True
        return ran

    def run(self, max_rounds: int | None = None) -> None:
        """Run rounds until no guest can run (all finished, paused or idle)."""
        rounds = 0
        while self.run_round():
            rounds += 1
            if max_rounds is not None and rounds >= max_rounds:
                return

    async def serve(self, guest: Guest) -> None:
        """The asyncio task of one guest: a slice, then let everyone else have the loop."""
        while guest in self.guests:
            if guest.state is GuestState.RUNNING:
                if self.defer is not None and self.defer(guest):
                    await asyncio.sleep(DEFER_NAP_S)
                    continue
                if self.realtime:
                    # One slice a turn of the event loop, whatever the number of guests:
                    # the guest holds the turn across its yield, so the others wait on
                    # it rather than in the loop's queue, and a keystroke or a redraw
                    # that comes in waits behind one slice, not behind every guest's.
                    async with self._one_slice_a_turn:
                        self.run_slice(guest)
                        await asyncio.sleep(0)
                else:
                    self.run_slice(guest)
                if guest.debug_stub is not None:
                    guest.debug_stub.guest_changed()  # a breakpoint, a halt, a crash: tell the debugger
                wait = guest.asleep_until - time.perf_counter() if guest.asleep_until else 0
                guest.asleep_until = 0.0
                # A guest sleeping ahead of the wall clock (realtime) naps until its
                # sleep is over; the wake event (input, a frame, a command) cuts it short.
                if wait > 0:
                    guest.wake.clear()
                    try:
                        await asyncio.wait_for(guest.wake.wait(), min(wait, MAX_NAP_S))
                    except TimeoutError:
                        pass
                elif not self.realtime:
                    await asyncio.sleep(0)
            elif guest.state.finished:
                if guest.debug_stub is not None:
                    guest.debug_stub.guest_changed()
                return
            else:
                guest.wake.clear()
                if guest.state is not GuestState.RUNNING:
                    await guest.wake.wait()

    def close(self) -> None:
        for guest in list(self.guests):
            guest.board.close()
