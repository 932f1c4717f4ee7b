"""Differential: the privileged-architecture programs of tests/cpu, on the bare machine
and as guests under the VMM, must end the same.

The programs are not copied here: at collection, each test function of the tests/cpu
privileged modules is called (one engine mode) with `machine` replaced by a recorder
that builds the bare machine as usual and notes, at its first `run`, the whole RAM
image (program, page tables and data the test poked, the 0xAA poison) and, when that
run ends, the final state.  Every machine whose first run ended at the finisher, with
no host mode, no ERET flaw and CSRs at their reset values, becomes one case here: the
same RAM image is put in a guest's RAM window (same size), run under the VMM from the
same pc in virtual M-mode (on correct hardware, and on flawed-ERET hardware with the
hw and bt remedies), and must halt the same way with the same registers, pc,
privilege, every CSR (counters and time included: both run on retired instructions)
and the same RAM, byte for byte (A/D bits the hardware wrote into page tables, too).
"""

from __future__ import annotations

import itertools
import zlib

import pytest
from cpu import harness as userharness
from cpu import (
    privharness,
    sv32harness,
    test_counters,
    test_insn_alu,
    test_insn_atomic,
    test_insn_block_edges,
    test_insn_illegal,
    test_insn_jump,
    test_insn_mem,
    test_insn_muldiv,
    test_insn_selfmod,
    test_interrupts,
    test_priv_pmp,
    test_priv_traps,
    test_priv_warl,
    test_sv32_translation,
    test_sv32_updates,
    test_triggers,
)  # fmt: skip

from machine.cpu.asm import assemble
from machine.cpu.trap import ExitKind
from tuivmm.vmm import GuestState, Vmm, monitor

from .vmmharness import arch_state, diff_states

MODULES = [test_priv_traps, test_priv_warl, test_priv_pmp, test_interrupts, test_counters,
           test_sv32_translation, test_sv32_updates, test_triggers]  # fmt: skip
RAM_BASE = privharness.RAM_BASE
RAM_SIZE = privharness.RAM_SIZE


def _reset_csrs() -> dict:
    m = privharness.machine("_start: nop", stepping=False)
    state = arch_state(m.hart)
    del state["x"], state["pc"], state["priv"]
    return state


RESET_CSRS = _reset_csrs()


class _Recorder:
    """Stands in for privharness.machine while a tests/cpu function runs."""

    def __init__(self, real):
        self.real = real
        self.cases: list[dict] = []

    def __call__(self, source, *, stepping, host_mode=False):
        m = self.real(source, stepping=stepping, host_mode=host_mode)
        case = {"program": m.program, "calls": 0, "ok": not host_mode}
        real_run = m.hart.run

        def run(budget, _real=real_run, case=case, m=m):
            h = m.hart
            case["calls"] += 1
            if case["calls"] == 1:
                start = arch_state(h)
                csrs = {k: v for k, v in start.items() if k not in ("x", "pc", "priv")}
                case["ok"] &= (csrs == RESET_CSRS and not any(start["x"]) and start["priv"] == 3
                               and not h.flawed_eret and not h.trap_xret and h.icount == 0)  # fmt: skip
                case["pc"] = h.pc
                case["ram"] = zlib.compress(bytes(m.ram.data), 1)
            else:
                case["ok"] = False
            exit_ = _real(budget)
            if case["calls"] == 1:
                case["ok"] &= exit_.kind is ExitKind.HALT
                case["halt"] = (exit_.halt, exit_.code)
                case["final"] = arch_state(h)
                case["final_ram"] = zlib.compress(bytes(m.ram.data), 1)
                case["icount"] = h.icount
            return exit_

        m.hart.run = run
        self.cases.append(case)
        return m


USER_MODULES = [test_insn_alu, test_insn_atomic, test_insn_block_edges, test_insn_illegal, test_insn_jump,
                test_insn_mem, test_insn_muldiv, test_insn_selfmod]  # fmt: skip
USER_RAM_SIZE = userharness.RAM_SIZE
STUB = userharness.RAM_BASE + USER_RAM_SIZE - 0x1000  # the guest's trap vector


class _UserRecorder:
    """Stands in for harness.run_asm (host mode: a trap that would enter M-mode ends
    the run) while a tests/cpu user-level function runs."""

    def __init__(self, real):
        self.real = real
        self.cases: list[dict] = []

    def __call__(self, source, *, setup=None, **options):
        case: dict = {}

        def snapshot(hart, _setup=setup, case=case):
            if _setup is not None:
                _setup(hart)
            start = arch_state(hart)
            csrs = {k: v for k, v in start.items() if k not in ("x", "pc", "priv")}
            case["ok"] = csrs == RESET_CSRS and start["priv"] == 3 and not hart.flawed_eret
            case["x"], case["pc"] = list(hart.x), hart.pc
            case["ram"] = zlib.compress(bytes(hart.ram.data), 1)

        hart, exit_ = self.real(source, setup=snapshot, **options)
        if case and options.get("host_mode", True) and exit_.kind is ExitKind.TRAP:
            ram = bytes(hart.ram.data)
            case["ok"] &= (hart.mscratch == hart.sscratch == 0
                           and ram[STUB - userharness.RAM_BASE:] == bytes([0xAA]) * 0x1000)  # fmt: skip
            case.update(source=source, trap=(exit_.cause, exit_.epc, exit_.tval), x_end=list(hart.x),
                        final_ram=zlib.compress(ram, 1))  # fmt: skip
            self.cases.append(case)
        return hart, exit_


def _param_sets(func, module):
    """Every combination of the function's parametrize marks (engine: blocks only)."""
    marks = list(getattr(func, "pytestmark", []))
    modmark = getattr(module, "pytestmark", [])
    marks += modmark if isinstance(modmark, list) else [modmark]
    axes = []
    for mark in marks:
        mark = getattr(mark, "mark", mark)
        if mark.name != "parametrize":
            continue
        spec = dict(zip(("argnames", "argvalues"), mark.args))
        spec.update(mark.kwargs)
        names, values = spec["argnames"], spec["argvalues"]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        rows = []
        for value in values:
            value = getattr(value, "values", value)
            row = tuple(value) if len(names) > 1 else (value,)
            if names in (["stepping"], ["steps"]) and row != (False,):
                continue
            rows.append(dict(zip(names, row, strict=True)))
        axes.append(rows)
    for combo in itertools.product(*axes):
        params = {}
        for part in combo:
            params.update(part)
        yield params


def _collect(modules, recorder, patched, attr) -> tuple[list, list[str]]:
    """Run every test function of `modules` with `attr` of the `patched` modules replaced
    by `recorder`: the cases it recorded, as pytest params, and one line for each
    function (with its params) that raised instead of running to its end."""
    saved = [(mod, mod.__dict__.get(attr)) for mod in patched]
    for mod in patched:
        if attr in mod.__dict__:
            setattr(mod, attr, recorder)
    found = []
    errors = []
    seen = set()
    try:
        for module in modules:
            short = module.__name__.rsplit(".", 1)[-1]
            for name, func in sorted(vars(module).items()):
                if not name.startswith("test_") or not callable(func):
                    continue
                for params in _param_sets(func, module):
                    recorder.cases = []
                    label = ",".join(f"{v}" for k, v in params.items() if k not in ("stepping", "steps"))
                    test_id = f"{short}.{name}" + (f"[{label}]" if label else "")
                    try:
                        func(**params)
                    except Exception as exc:  # noqa: BLE001 - said by test_every_program_was_recorded
                        errors.append(f"{test_id}: {type(exc).__name__}: {exc}")
                        continue
                    good = [c for c in recorder.cases if c["ok"]]
                    for k, case in enumerate(good):
                        key = (case["ram"], case["pc"])
                        if key in seen:
                            continue
                        seen.add(key)
                        ident = test_id + (f"#{k}" if len(good) > 1 else "")
                        found.append(pytest.param(case, id=ident))
    finally:
        for mod, value in saved:
            if value is not None:
                setattr(mod, attr, value)
    return found, errors


CASES, CASE_ERRORS = _collect(MODULES, _Recorder(privharness.machine), [privharness, sv32harness, *MODULES],
                              "machine")  # fmt: skip
USER_CASES, USER_CASE_ERRORS = _collect(USER_MODULES, _UserRecorder(userharness.run_asm),
                                        [userharness, *USER_MODULES], "run_asm")  # fmt: skip


def test_every_program_was_recorded():
    # A tests/cpu function that raises while it is recorded (with the recorder in, not
    # on its own) gives no case: its programs would go untested here without a word.
    assert CASE_ERRORS == []
    assert USER_CASE_ERRORS == []


def test_enough_programs_were_collected():
    # What the tests/cpu modules give today (distinct programs that end at the
    # finisher, or at their first trap, from a reset hart): fewer means some were lost.
    assert len(CASES) >= 254, len(CASES)
    assert len(USER_CASES) >= 251, len(USER_CASES)


# The VMM on correct hardware, and on the flawed hardware with the two remedies that
# apply to any guest (pv needs a guest built for it).
SETUPS = {"correct": (False, "none"), "flawed+hw": (True, "hw"), "flawed+bt": (True, "bt")}


@pytest.mark.parametrize("setup", list(SETUPS))
@pytest.mark.parametrize("case", CASES)
def test_guest_ends_as_on_the_bare_machine(case, setup, monkeypatch):
    # These programs never trap thousands of times in a row without retiring an
    # instruction; a guest that does is stuck (a VMM livelock): fail in well under 20_000.
    monkeypatch.setattr(monitor, "STUCK_EXITS", 2_000, raising=False)
    flawed, remedy = SETUPS[setup]
    vmm = Vmm(flawed_eret=flawed)
    g = vmm.add_guest(program=case["program"], name="diff", ram_size=RAM_SIZE, net=False, remedy=remedy)
    g.window.write_bytes(RAM_BASE, zlib.decompress(case["ram"]))
    g.vcpu.pc = case["pc"]
    vmm.run(max_rounds=200)
    tail = "\n".join(e.describe() for e in list(g.log.events)[-15:])
    assert g.state is GuestState.HALTED, (g.state, g.reason, tail)
    assert g.halt == case["halt"]
    ours = arch_state(g.vcpu)
    assert diff_states(case["final"], ours) == [], tail
    assert g.vcpu.icount == case["icount"]
    want = zlib.decompress(case["final_ram"])
    got = bytearray(g.window.data)
    if g.bt is not None:  # binary translation leaves its patches in guest RAM (bt.py says so)
        for addr, word in g.bt.patched.items():
            got[addr - RAM_BASE : addr - RAM_BASE + 4] = word.to_bytes(4, "little")
    if got != want:
        words = [(RAM_BASE + i, int.from_bytes(want[i:i + 4], "little"), int.from_bytes(got[i:i + 4], "little"))
                 for i in range(0, len(want), 4) if want[i:i + 4] != got[i:i + 4]]  # fmt: skip
        raise AssertionError("RAM differs (addr, bare, vmm): "
                             + ", ".join(f"{a:#x}: {b:#x} != {c:#x}" for a, b, c in words[:8]))  # fmt: skip


# The guest's trap vector: keep t5 and t6 in sscratch and mscratch, then power off.
HALT_STUB = assemble("""
        csrw sscratch, t5
        csrw mscratch, t6
        li   t6, 0x100000
        li   t5, 0x5555
        sw   t5, 0(t6)
""", STUB)


@pytest.mark.parametrize("setup", list(SETUPS))
@pytest.mark.parametrize("case", USER_CASES)
def test_user_level_program_ends_as_on_the_bare_machine(case, setup, monkeypatch):
    """The user-level instruction programs (tests/cpu/test_insn_*), run in host mode on
    the bare hart until their first trap to M-mode (their closing ecall, or the fault
    they test), run in virtual M-mode: the guest's own trap vector must be entered with
    that trap's cause, epc and tval, the same registers and the same RAM."""
    monkeypatch.setattr(monitor, "STUCK_EXITS", 2_000, raising=False)
    flawed, remedy = SETUPS[setup]
    vmm = Vmm(flawed_eret=flawed)
    g = vmm.add_guest(program=assemble(case["source"], RAM_BASE), name="diff", ram_size=USER_RAM_SIZE, net=False,
                      remedy=remedy)  # fmt: skip
    g.window.write_bytes(RAM_BASE, zlib.decompress(case["ram"]))
    g.window.write_bytes(STUB, HALT_STUB.data)
    g.vcpu.x[:] = case["x"]
    g.vcpu.pc = case["pc"]
    g.vcpu.mtvec = STUB
    vmm.run(max_rounds=200)
    tail = "\n".join(e.describe() for e in list(g.log.events)[-15:])
    assert (g.state, g.halt) == (GuestState.HALTED, ("pass", 0)), (g.state, g.reason, tail)
    v = g.vcpu
    assert (v.mcause, v.mepc, v.mtval) == case["trap"], tail
    x = list(v.x)
    x[30], x[31] = v.sscratch, v.mscratch
    assert x == case["x_end"], [(i, hex(a), hex(b)) for i, (a, b) in enumerate(zip(case["x_end"], x)) if a != b]
    want = zlib.decompress(case["final_ram"])[: STUB - RAM_BASE]
    got = bytearray(g.window.data)[: STUB - RAM_BASE]
    if g.bt is not None:
        for addr, word in g.bt.patched.items():
            got[addr - RAM_BASE : addr - RAM_BASE + 4] = word.to_bytes(4, "little")
    assert got == want, "RAM differs"
