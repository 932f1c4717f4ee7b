"""Address spaces (tuivmm/vmm/spaces.py): the satp values a guest has written, each
table walked as the hardware walks it, beside the shadows the VMM keeps for it.

The hardware's own walker (`ArchState.walk`, which the machine's tests check against
the spec and QEMU) is the oracle for the walk: every page of every run must translate
the same way through it.  unix gives the real case — a kernel with 4 KiB pages and
4 MiB superpages, and a process per command; tiny hand-built tables give the broken
ones.
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C
from machine.cpu.arch import ArchState
from machine.cpu.asm import assemble
from machine.cpu.trap import Trap
from machine.loader import load_elf
from machine.memory import Ram
from tuivmm.disk import tufs
from tuivmm.lineup.packaged import IMAGES
from tuivmm.tools.snapshot import restore_guest, save_guest
from tuivmm.vmm import Vmm
from tuivmm.vmm.exits import MRET_DOOR
from tuivmm.vmm.spaces import (
    MAX_SPACES,
    SatpHistory,
    address_spaces,
    current_space,
    inspect_space,
    walk_space,
)  # fmt: skip

from .vmmharness import HALT, PMP_ALL, PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, Sv32, guest

RAM = 0x8000_0000
MIB = 1 << 20
KERNEL_TEXT = PTE_V | PTE_R | PTE_X | PTE_A | PTE_D
PROMPT = b"\n$ "


# --- unix ----------------------------------------------------------------------------------------


def run_until(vmm: Vmm, g, done, rounds: int = 20_000) -> None:
    for _ in range(rounds):
        if done():
            return
        vmm.run_slice(g)
    raise AssertionError(bytes(g.output)[-300:])


def at_prompt(vmm: Vmm, g, prompts: int) -> None:
    run_until(vmm, g, lambda: g.output.count(PROMPT) >= prompts and g.output.endswith(b"$ "))


@pytest.fixture(scope="module")
def unix(tmp_path_factory):
    """unix at its prompt after `ls` and `echo hi`: each a fork of the shell that
    exec'd the program, come and gone."""
    disk = tmp_path_factory.mktemp("unix") / "unix.img"
    tufs.mkfs(disk)
    vmm = Vmm()
    g = vmm.add_guest(IMAGES / "unix.elf", disk=str(disk), net=False)
    at_prompt(vmm, g, 1)
    for n, line in enumerate((b"ls\n", b"echo hi\n"), start=2):
        g.send_input(line)
        at_prompt(vmm, g, n)
    assert b"$ echo hi\nhi\n$ " in g.output
    return g


def kernel_satp(g) -> int:
    """The kernel's own satp: the one unix idles in, at its prompt, in S-mode."""
    assert g.vcpu.priv == C.S and g.vcpu.satp & C.SATP_MODE
    return g.vcpu.satp


def shell_satp(g) -> int:
    """The shell's satp: of the processes' tables, the one written most (it runs
    between every command; the first process's table was freed when it exec'd sh)."""
    return max(g.spaces.uses()[1:], key=lambda use: use.writes).satp


def hardware_translation(ram, satp: int, va: int) -> int | None:
    """Where the hardware's walker sends `va` (a load) under `satp`, or None if it faults."""
    hart = ArchState(ram)
    hart.csr_write(C.PMPADDR0, 0xFFFF_FFFF)
    hart.csr_write(C.PMPCFG0, 0x1F)  # PMP: everything, so the walk's reads are never stopped
    hart.satp = satp
    try:
        pte, _addr, level = hart.walk(va)
        return hart.leaf_address(pte, level, va, 1)
    except Trap:
        return None


def test_unix_has_written_a_satp_for_its_kernel_and_one_for_each_process(unix):
    g = unix
    uses = g.spaces.uses()
    kernel = kernel_satp(g)
    # The kernel's table first (paging on at boot), then the first process's, the
    # shell's (exec'd from it), and for each command its fork's and its program's.
    assert uses[0].satp == kernel and len(uses) >= 4, [hex(u.satp) for u in uses]
    assert [u.first for u in uses] == sorted(u.first for u in uses)
    # The scheduler goes back to the kernel's table after every process's turn.
    assert uses[0].writes == max(u.writes for u in uses) and uses[0].writes >= 4
    assert all(u.satp & C.SATP_MODE for u in uses) and len({u.satp for u in uses}) == len(uses)
    assert g.spaces.bare.writes >= 1  # start.c: satp = 0 before paging is on
    assert [u.satp for u in address_spaces(g)] == [None, *(u.satp for u in uses)]
    assert current_space(g) == kernel


def test_the_kernels_text_is_mapped_read_execute_at_its_own_address(unix):
    g = unix
    etext = load_elf(IMAGES / "unix.elf").symbols["etext"]
    walk = walk_space(g.window, kernel_satp(g))
    assert not walk.problem and not walk.truncated
    text = next(r for r in walk.runs if r.va == RAM and r.kind == "page")
    assert text.pages == (etext - RAM + 4095) // 4096 and text.entries == text.pages
    assert text.bits == KERNEL_TEXT  # r-x, not user, accessed and dirty set by kvminit
    assert text.gpa == RAM and text.hpa == g.window.host_base
    # The rest of its first 4 MiB: read-write pages, right after.
    data = walk.runs[walk.runs.index(text) + 1]
    assert (data.va, data.end, data.bits & (PTE_R | PTE_W | PTE_X)) == (text.end, RAM + 4 * MIB, PTE_R | PTE_W)
    # Both levels: the first-level entry that points to the table holding them comes first.
    pointer = walk.runs[walk.runs.index(text) - 1]
    assert (pointer.kind, pointer.slot, pointer.va, pointer.pages) == ("pointer", RAM >> 22, RAM, 1024)
    assert g.window.contains(pointer.gpa, 4096) and pointer.hpa == g.window.host_base + pointer.gpa - RAM


def test_the_kernel_maps_the_rest_of_ram_in_4_mib_superpages_and_the_plic_in_one(unix):
    g = unix
    runs = walk_space(g.window, kernel_satp(g)).runs
    ram = next(r for r in runs if r.kind == "superpage" and r.va == RAM + 4 * MIB)
    assert ram.end == RAM + g.window.size and ram.entries == (g.window.size >> 22) - 1
    assert ram.gpa == ram.va and ram.hpa == g.window.host_base + 4 * MIB
    assert ram.bits & (PTE_R | PTE_W | PTE_X | PTE_U) == PTE_R | PTE_W
    plic = [r for r in runs if r.kind == "superpage" and r.gpa == 0x0C00_0000]
    assert len(plic) == 1 and plic[0].hpa is None and plic[0].pages == 1024  # a device: no host RAM behind it


@pytest.mark.parametrize("which", ["kernel", "shell"])
def test_every_page_of_the_walk_translates_as_the_hardware_walker_says(unix, which):
    g = unix
    satp = kernel_satp(g) if which == "kernel" else shell_satp(g)
    walk = walk_space(g.window, satp)
    leaves = [r for r in walk.runs if r.leaf]
    if which == "shell":
        assert any(r.bits & PTE_U for r in leaves)  # its own pages below the kernel's
    for run in leaves:
        for page in range(0, run.pages, max(1, run.pages // 64)):
            va = run.va + page * 4096
            assert hardware_translation(g.window, satp, va) == run.gpa + page * 4096, (hex(va), run)
    # And nothing else is mapped: a page in no run faults for the hardware too.
    mapped = [(r.va, r.end) for r in leaves]
    for va in range(0, 1 << 32, 1 << 22):
        if not any(lo <= va < hi for lo, hi in mapped):
            assert hardware_translation(g.window, satp, va) is None, hex(va)


def test_the_kernels_shadow_marks_filled_the_pages_it_has_faulted_in(unix):
    g = unix
    satp = kernel_satp(g)
    view = inspect_space(g, satp)
    [shadow] = [s for s in view.shadows if s.key[0] == "s"]
    table = g.shadows[shadow.key]
    filled = {va: hpa for va, hpa, _ in table.mappings()}
    assert filled and shadow.filled == len(filled)
    # Every run says how many of its pages the shadow holds; together, all of them.
    counted = 0
    for run, counts in zip(view.runs, view.filled):
        pages = {va for va in filled if run.leaf and run.va <= va < run.end}
        assert counts.get(shadow.key, 0) == len(pages), run
        counted += len(pages)
    assert counted == len(filled)
    text = next(i for i, r in enumerate(view.runs) if r.va == RAM and r.kind == "page")
    assert view.filled[text][shadow.key] >= 1  # the kernel runs: some of its text is filled
    # Each filled entry goes where the guest's table says, through the guest's window.
    assert view.shadow_runs and all(r.guest == "same" for r in view.shadow_runs)
    assert sum(r.pages for r in view.shadow_runs) == len(filled)
    for va, hpa in filled.items():
        assert hpa == g.window.host_base + hardware_translation(g.window, satp, va) - RAM


def test_a_process_space_has_no_shadow_once_the_kernel_has_switched_away(unix):
    g = unix
    view = inspect_space(g, shell_satp(g))
    assert view.shadows == [] and view.shadow_runs == []  # the satp write back to the kernel dropped them
    assert all(not counts for counts in view.filled)


def test_a_table_freed_since_its_last_use_is_said_to_have_changed(unix):
    g = unix
    # The first process's table: written once, then freed when it exec'd the shell
    # (exec.c switches to the new table first), its page used again since.
    first = g.spaces.uses()[1]
    assert first.writes == 1 and first.satp != shell_satp(g)
    assert inspect_space(g, first.satp).root_changed
    assert not inspect_space(g, shell_satp(g)).root_changed
    assert not inspect_space(g, kernel_satp(g)).root_changed
    assert not inspect_space(g, None).root_changed


def test_a_running_process_has_its_own_user_shadow_filled(unix):
    g = unix
    vmm = g.vmm
    g.send_input(b"bench 2\n")  # CPU-bound in U-mode: a slice ends inside it
    kernel = kernel_satp(g)
    run_until(vmm, g, lambda: g.vcpu.priv == C.U and g.vcpu.satp != kernel, rounds=2000)
    satp = current_space(g)
    assert satp in {u.satp for u in g.spaces.uses()}
    view = inspect_space(g, satp)
    keys = [s.key for s in view.shadows]
    assert ("u", satp, False) in keys, keys
    user = [(r, c) for r, c in zip(view.runs, view.filled) if r.leaf and r.bits & PTE_U]
    assert user and any(c.get(("u", satp, False)) for _, c in user)
    at_prompt(vmm, g, g.output.count(PROMPT) + 1)


def test_no_paging_lists_the_guest_physical_map_beside_virtual_m_modes_shadow(unix):
    g = unix
    view = inspect_space(g, None)
    assert view.walk is None
    ram = next(r for r in view.runs if r.what == "ram")
    assert (ram.va, ram.gpa, ram.hpa, ram.pages) == (RAM, RAM, g.window.host_base, g.window.size // 4096)
    uart = next(r for r in view.runs if r.what == "uart0")
    assert uart.hpa is None
    assert all(s.key[0] in ("m", "mprv", "bare") for s in view.shadows)


# --- hand-built tables ---------------------------------------------------------------------------

ROOT = RAM + 0x1_0000


def test_a_walk_coalesces_runs_marks_superpages_and_says_why_broken_entries_fault():
    ram = Ram(RAM, 4 * MIB, fill=0xAA)
    pt = Sv32(ROOT)
    for i in range(ROOT - RAM >> 12, (ROOT - RAM >> 12) + 8):
        ram.write_bytes(RAM + i * 4096, bytes(4096))  # the tables: empty
    rw = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    for i in range(3):
        pt.map_page(0x4000_0000 + 0x1000 * i, RAM + 0x20_0000 + 0x1000 * i, rw)  # one run of three
    pt.map_page(0x4000_3000, RAM + 0x30_0000, rw)  # not contiguous in guest-physical: a run of its own
    pt.map_page(0x4000_4000, RAM + 0x30_1000, rw | PTE_U)  # other bits: another
    pt.map_page(0x4000_6000, RAM + 0x30_2000, PTE_V | PTE_W)  # W without R
    pt.map_page(0x4000_7000, RAM + 0x30_3000, PTE_V)  # a pointer at the last level
    pt.map_mega(0x8000_0000, RAM, KERNEL_TEXT)  # superpages, two in a row
    pt.map_mega(0x8040_0000, RAM + 0x40_0000, KERNEL_TEXT)
    pt.map_mega(0xC000_0000, RAM + 0x1000, KERNEL_TEXT)  # misaligned
    pt.words[ROOT + 4 * (0xD000_0000 >> 22)] = ((0x9000_0000 >> 12) << 10) | PTE_V  # table outside RAM
    pt.words[ROOT + 4 * (0xE000_0000 >> 22)] = ((RAM >> 12) << 10) | PTE_V | PTE_A  # pointer with A set
    pt.map_page(MRET_DOOR, RAM + 0x31_0000, rw)
    for addr, word in pt.words.items():
        ram.write_u32(addr, word)
    before = bytes(ram.data)
    walk = walk_space(ram, pt.satp)
    assert bytes(ram.data) == before  # read only: no A/D bits set, nothing else touched
    rows = [(r.kind, r.va, r.pages, r.gpa, r.entries, r.problem) for r in walk.runs]
    assert rows == [
        ("pointer", 0x4000_0000, 1024, ROOT + 0x1000, 1, ""),
        ("page", 0x4000_0000, 3, RAM + 0x20_0000, 3, ""),
        ("page", 0x4000_3000, 1, RAM + 0x30_0000, 1, ""),
        ("page", 0x4000_4000, 1, RAM + 0x30_1000, 1, ""),
        ("page", 0x4000_6000, 1, RAM + 0x30_2000, 1, "W without R is reserved: faults"),
        ("page", 0x4000_7000, 1, RAM + 0x30_3000, 1, "a pointer at the last level: faults"),
        ("superpage", 0x8000_0000, 2048, RAM, 2, ""),
        ("superpage", 0xC000_0000, 1024, RAM, 1, "misaligned superpage: faults"),
        ("pointer", 0xD000_0000, 1024, 0x9000_0000, 1, "its table 0x90000000 is outside guest RAM: faults"),
        ("pointer", 0xE000_0000, 1024, RAM, 1, "pointer with A, D or U set: faults"),
        ("pointer", 0xFFC0_0000, 1024, ROOT + 0x2000, 1, ""),
        ("page", MRET_DOOR, 1, RAM + 0x31_0000, 1, ""),
    ]
    assert [r.holds_door for r in walk.runs] == [False] * 11 + [True]
    assert walk.runs[6].hpa == RAM and walk.runs[8].hpa is None  # a bare Ram: host = guest-physical
    # Each faulting entry faults for the hardware's walker too; the others translate.
    for run in walk.runs:
        if run.leaf:
            got = hardware_translation(ram, pt.satp, run.va)
            assert (got is None) == bool(run.problem), run


def test_a_root_outside_ram_is_said_so_and_a_walk_stops_at_its_limit():
    ram = Ram(RAM, MIB)
    walk = walk_space(ram, C.SATP_MODE | (0x1000_0000 >> 12))
    assert walk.runs == [] and "outside guest RAM" in walk.problem
    pt = Sv32(RAM)
    for i in range(40):
        pt.map_page(0x1000_0000 + 0x2000 * i, RAM + 0x1000 * i, PTE_V | PTE_R)  # every other page: 40 runs
    for addr, word in pt.words.items():
        ram.write_u32(addr, word)
    assert len(walk_space(ram, pt.satp).runs) == 41
    short = walk_space(ram, pt.satp, limit=10)
    assert len(short.runs) == 10 and short.truncated


# --- a tiny guest: the U view, and a shadow entry the guest has since changed ----------------------

VA = 0x4000_0000
PA = [RAM + 0x4_0000 + 0x1000 * i for i in range(4)]


def test_a_pte_changed_without_sfence_shows_as_stale_in_the_shadow():
    pt = Sv32(ROOT)
    pt.map_mega(RAM, RAM, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
    pt.map_mega(0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    leaf = pt.map_page(VA, PA[0], PTE_V | PTE_R | PTE_U | PTE_A)
    pt.map_page(VA + 0x1000, PA[1], PTE_V | PTE_R | PTE_X | PTE_U | PTE_A)  # the user's code
    source = f"""
_start: la   t0, m_trap
        csrw mtvec, t0
{PMP_ALL}
        li   t0, {pt.satp:#x}
        csrw satp, t0
        sfence.vma
        li   t0, {VA + 0x1000:#x}
        csrw mepc, t0
        li   t0, 0x1800
        csrc mstatus, t0            # MPP = U
        mret
        .align 2
m_trap:                             # the user's ecall: point VA elsewhere, with no SFENCE.VMA
        li   t0, {leaf:#x}
        li   t1, {((PA[2] >> 12) << 10) | PTE_V | PTE_R | PTE_U | PTE_A:#x}
        sw   t1, 0(t0)
{HALT}
"""
    vmm, g = guest(source)
    for addr, word in pt.words.items():
        g.window.write_u32(addr, word)
    user = assemble(f"li t1, {VA:#x}\nlw a0, 0(t1)\necall\n", VA + 0x1000)
    g.window.write_bytes(PA[1], bytes(user.data))
    vmm.run(max_rounds=200)
    assert g.halt == ("pass", 0), g.reason
    assert [(u.satp, u.writes) for u in g.spaces.uses()] == [(pt.satp, 1)]
    view = inspect_space(g, pt.satp)
    key = ("u", pt.satp, False)
    assert key in [s.key for s in view.shadows]
    runs = {r.va: r for r in view.shadow_runs if r.key == key}
    assert runs[VA].guest == "differs"  # the shadow still has PA[0]; the guest's table says PA[2] now
    assert runs[VA].hpa == g.window.host_base + PA[0] - RAM
    assert runs[VA + 0x1000].guest == "same"
    user_run = next(i for i, r in enumerate(view.runs) if r.va == VA and r.leaf)
    assert view.filled[user_run] == {key: 1}  # the guest's VA: one page, filled (with the old one)


# --- the record itself ----------------------------------------------------------------------------


def test_the_history_keeps_distinct_values_in_order_of_first_use_and_forgets_the_least_recent():
    history = SatpHistory(limit=3)
    ram = Ram(RAM, MIB)
    a, b, c, d = (C.SATP_MODE | (RAM >> 12) + n for n in range(4))
    for cycles, satp in enumerate([a, b, a, 0, c, a, d]):
        history.note(satp, cycles, ram)
    # b was written least recently when d came: it goes; a stays, though first.
    assert [(u.satp, u.first, u.writes, u.last_cycles) for u in history.uses()] == [
        (a, 1, 3, 5), (c, 3, 1, 4), (d, 4, 1, 6)]  # fmt: skip
    assert history.forgotten == 1 and (history.bare.writes, history.bare.last_cycles) == (1, 3)
    assert MAX_SPACES == SatpHistory().limit == 64


def test_a_restored_guest_lists_its_current_space_unwritten_and_a_reset_forgets_them(unix, tmp_path):
    g = unix
    satp = kernel_satp(g)
    save_guest(g, tmp_path / "unix.snap")
    other = Vmm()
    restored = restore_guest(other, tmp_path / "unix.snap")
    assert len(restored.spaces) == 0  # not the guest's state: snapshots leave it out
    assert [(u.satp, u.writes) for u in address_spaces(restored)] == [(None, 0), (satp, 0)]
    restored.send_input(b"echo x\n")
    at_prompt(other, restored, restored.output.count(PROMPT) + 1)
    assert len(restored.spaces) >= 3 and satp in [u.satp for u in restored.spaces.uses()]  # sh, echo, kernel
    restored.reset()
    assert len(restored.spaces) == 0 and restored.spaces.bare.writes == 0
    assert [u.satp for u in address_spaces(restored)] == [None]
