"""Snapshots (tuivmm/tools/snapshot.py): a guest saved halfway and restored into a fresh
VMM ends exactly where the same guest run straight through ends — registers, pc,
privilege, every CSR, all of guest RAM, every device, the console, the disk and how
it halted — in this process and, through `tuivmm run --save/--restore`, in another.
And a snapshot file that is missing, cut short, damaged or of another version is
refused in one line, while a failed save leaves the old file as it was."""

from __future__ import annotations

import functools
import shutil
import struct

import pytest
from test_cli import tuivmm
from test_run_cli import by_guest, one_line_error
from vmm.vmmharness import (
    HALT,
    MTIME,
    MTIMECMP,
    UART,
    arch_state,
    diff_states,
    fail,
    guest,
    program,
)

from tuivmm.disk import tufs
from tuivmm.cli import main
from tuivmm.lineup.packaged import resolve
from tuivmm.tools.snapshot import (
    SnapshotError,
    read_snapshot,
    restore_guest,
    save_guest,
)
from tuivmm.vmm import Guest, GuestState, Vmm
from tuivmm.tools import snapshot as S
from tuivmm.vmm.monitor import LIMIT_REASON

# Timer interrupts every 700 cycles (a dot each), the UART's receive interrupt through
# the PLIC (each byte typed echoed as byte + 1), LR/SC and stores in a loop, WFI on
# every fourth tick; powers off after 40 ticks (about 21,000 instructions).
TICKER = f"""
_start:
        la   t0, handler
        csrw mtvec, t0
        li   s0, {UART:#x}
        li   t0, 1
        sb   t0, 1(s0)              # IER: received data available
        li   t1, 0x0C000000
        sw   t0, 40(t1)             # PLIC: priority of source 10 (the UART) = 1
        li   t1, 0x0C002000
        li   t0, 0x400
        sw   t0, 0(t1)              # enabled for context 0 (M-mode)
        li   s1, {MTIMECMP:#x}
        li   s2, {MTIME:#x}
        lw   t0, 0(s2)
        addi t0, t0, 700
        sw   zero, 4(s1)
        sw   t0, 0(s1)              # the first tick
        li   t0, 0x880
        csrw mie, t0                # MTIE | MEIE
        csrsi mstatus, 8            # MIE
        li   s3, 0                  # ticks so far
        la   s4, buf
main:   lr.w t0, (s4)
        addi t0, t0, 3
        sc.w t1, t0, (s4)
        add  s5, s5, t1
        lw   t2, 4(s4)
        xor  t2, t2, t0
        sw   t2, 4(s4)
        li   t2, 40
        bge  s3, t2, done
        andi t3, s3, 3
        bnez t3, main
        wfi
        j    main
done:
{HALT}
handler:
        csrr t4, mcause
        bgez t4, bad
        andi t4, t4, 0xff
        li   t5, 7
        beq  t4, t5, timer
        li   t5, 11
        beq  t4, t5, external
bad:
{fail(9)}
timer:  addi s3, s3, 1
        li   t5, 46                 # '.'
        sb   t5, 0(s0)
        lw   t4, 0(s2)
        addi t4, t4, 700
        sw   t4, 0(s1)              # the next tick
        mret
external:
        li   t5, 0x0C200004
        lw   t6, 0(t5)              # claim
1:      lbu  a0, 5(s0)
        andi a0, a0, 1
        beqz a0, 2f
        lbu  a0, 0(s0)
        addi a0, a0, 1
        sb   a0, 0(s0)
        j    1b
2:      sw   t6, 0(t5)              # complete
        mret
        .align 4
buf:    .word 0, 0
"""


# --- helpers ------------------------------------------------------------------------------


NO_END = 3_000_000  # "run to the end": every guest here powers off long before


def run_to(vmm: Vmm, g: Guest, limit: int | None) -> None:
    """Run until the guest has retired `limit` instructions in all (None: till it
    powers off, or NO_END), or can run no more."""
    if g.state is GuestState.STOPPED and g.reason == LIMIT_REASON:
        g.state, g.reason = GuestState.RUNNING, ""
    g.instruction_limit = NO_END if limit is None else limit
    vmm.run()


def first_difference(a: bytes, b: bytes) -> int | None:
    if a == b:
        return None
    return next((i for i, (p, q) in enumerate(zip(a, b)) if p != q), min(len(a), len(b)))


def assert_same_machine(straight: Guest, restored: Guest) -> None:
    """Everything the guest could ever observe, and everything the VMM would carry on
    from, is the same (the VMM's own counters, e.g. hidden faults, may differ: the
    restored guest's shadows were rebuilt)."""
    assert diff_states(arch_state(straight.vcpu), arch_state(restored.vcpu)) == []
    assert straight.vcpu.save_state() == restored.vcpu.save_state()  # reservation, mip halves, WFI, counters
    assert first_difference(bytes(straight.window.data), bytes(restored.window.data)) is None, "RAM differs"
    assert bytes(straight.output) == bytes(restored.output)
    assert straight.board.save_state() == restored.board.save_state()  # every device, the clock's alarm
    assert (straight.state, straight.halt, straight.reason) == (restored.state, restored.halt, restored.reason)
    assert (straight.instructions, bytes(straight.input)) == (restored.instructions, bytes(restored.input))
    if straight.board.blk is not None:
        assert first_difference(straight.board.blk.read_image(), restored.board.blk.read_image()) is None
    if straight.bt is not None:
        assert (straight.bt.scanned, straight.bt.patched) == (restored.bt.scanned, restored.bt.patched)


def prove(add, *, split: int, end: int | None, tmp_path, before: bytes = b"", after: bytes = b"",
          interactive: bool = True, flawed: bool = False, at_split=None) -> tuple[Guest, Guest]:  # fmt: skip
    """The proof: `add(vmm)` makes the guest.  Straight: type `before`, run to `split`
    instructions, type `after`, run to `end`.  Snapshot: the same to `split`, save
    (`at_split(guest)` may check the moment first), restore into a fresh VMM, type
    `after` there, run to `end`.  Returns both guests, checked alike."""
    straight_vmm = Vmm(flawed_eret=flawed)
    straight = add(straight_vmm)
    straight.send_input(before, interactive=interactive)
    run_to(straight_vmm, straight, split)
    straight.send_input(after, interactive=interactive)
    run_to(straight_vmm, straight, end)

    first_vmm = Vmm(flawed_eret=flawed)
    first = add(first_vmm)
    first.send_input(before, interactive=interactive)
    run_to(first_vmm, first, split)
    if at_split is not None:
        at_split(first)
    path = tmp_path / f"at-{split}.snap"
    save_guest(first, path)
    first_vmm.close()

    fresh = Vmm(flawed_eret=flawed)
    restored = restore_guest(fresh, path)
    assert restored.instructions == min(split, straight.instructions)
    restored.send_input(after, interactive=interactive)
    run_to(fresh, restored, end)
    assert_same_machine(straight, restored)
    straight_vmm.close()
    fresh.close()
    return straight, restored


# --- the proof, in this process -----------------------------------------------------------


# Moments a snapshot must carry exactly, each found by running TICKER (with "ab" typed
# at the start) instruction by instruction: the first count at which it holds.
MOMENTS = {
    "bytes typed, not yet read": lambda g: g.board.uart.rx_pending() > 0,
    "an interrupt pending, masked inside the handler": lambda g: bool(g.vcpu.mip & g.vcpu.mie)
    and not g.vcpu.mstatus & 8,
    "the UART's interrupt claimed, not completed": lambda g: g.board.plic.claimed != 0,
    "in the timer's handler, before it re-arms": lambda g: bool(g.vcpu.mip & 0x80) and not g.vcpu.mstatus & 8,
    "between LR and SC": lambda g: g.vmm.hart.reservation is not None and g.vmm.loaded is g,
    "timer armed, a dozen ticks done": lambda g: g.output.count(b".") == 12,
}


@functools.cache
def moments() -> dict[str, int]:
    vmm, g = guest(TICKER)
    g.send_input(b"ab", interactive=True)
    found: dict[str, int] = {}
    for count in range(1, 10_000):
        run_to(vmm, g, count)
        for name, holds in MOMENTS.items():
            if name not in found and holds(g):
                found[name] = count
        if len(found) == len(MOMENTS):
            return found
    raise AssertionError(f"TICKER never reached {set(MOMENTS) - set(found)}")


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_tiny_guest_with_timer_uart_and_plic_interrupts_ends_the_same_after_a_snapshot(moment, tmp_path):
    split = moments()[moment]

    def add(vmm):
        return guest(TICKER, vmm)[1]

    def check(g):
        assert MOMENTS[moment](g), f"not {moment} at {split}"

    # Typing then would interrupt the loop, and the handler's device accesses end any
    # reservation: between LR and SC, nothing is typed.
    after = b"" if moment == "between LR and SC" else b"xy"
    straight, _ = prove(add, split=split, end=None, tmp_path=tmp_path, before=b"ab", after=after, at_split=check)
    assert straight.halt == ("pass", 0) and straight.instructions > split  # it powered off after the snapshot
    assert bytes(straight.output).count(b".") == 40 and b"bc" in straight.output
    assert (b"yz" in straight.output) == bool(after)


def test_a_snapshot_taken_while_the_guest_sleeps_in_wfi_wakes_at_the_same_tick(tmp_path):
    vmm, straight = guest(TICKER)
    run_to(vmm, straight, None)
    vmm, first = guest(TICKER)
    while not first.vcpu.sleeping:  # slices end on virtual time, so one may end in the middle of a sleep
        vmm.run_slice(first, 97)
    assert first.state is GuestState.RUNNING and first.vcpu.clock.alarm_cycle > first.vcpu.cycles
    save_guest(first, tmp_path / "asleep.snap")
    fresh = Vmm()
    restored = restore_guest(fresh, tmp_path / "asleep.snap")
    assert restored.vcpu.sleeping
    run_to(fresh, restored, None)
    assert_same_machine(straight, restored)


# riscv-tests style: a character through HTIF's tohost, one 32-bit half at a time, then
# power off through it.
HTIF_PUTCHAR = """
_start: la   t0, tohost
        li   t1, 0x41               # putchar 'A': the low half ...
        sw   t1, 0(t0)
        addi t2, t2, 1
        addi t2, t2, 1
        li   t1, 0x01010000         # ... and the high half: device 1, command 1
        sw   t1, 4(t0)
        li   t1, 1                  # exit code 0
        sw   t1, 0(t0)
        sw   zero, 4(t0)
1:      j    1b
        .align 6
tohost: .word 0, 0
fromhost: .word 0, 0
"""


def test_a_command_half_written_to_htif_is_finished_after_the_restore(tmp_path):
    prog = program(HTIF_PUTCHAR)

    def add(vmm):
        g = guest(prog, vmm)[1]
        g.board.attach_htif(prog.symbols["tohost"], prog.symbols["fromhost"])
        return g

    def check(g):
        assert g.board.htif.save_state()["written"] == [prog.symbols["tohost"]]

    _, restored = prove(add, split=5, end=None, tmp_path=tmp_path, at_split=check)
    assert bytes(restored.output) == b"A" and restored.halt == ("pass", 0)


def test_the_restored_guest_runs_beside_the_original_in_the_same_vmm_and_both_end_alike(tmp_path):
    vmm, original = guest(TICKER)
    run_to(vmm, original, 9_000)
    save_guest(original, tmp_path / "t.snap")
    twin = restore_guest(vmm, tmp_path / "t.snap")
    assert twin.name == "t-2" and twin.window.host_base != original.window.host_base
    run_to(vmm, original, None)
    run_to(vmm, twin, None)
    assert original.halt == ("pass", 0)
    assert_same_machine(original, twin)


def test_unix_with_input_before_and_after_the_snapshot_and_a_disk_write_ends_the_same(tmp_path):
    base = tmp_path / "base.img"
    tufs.mkfs(base)
    disks = iter(["straight.img", "first.img"])

    def add(vmm):
        disk = tmp_path / next(disks)
        shutil.copyfile(base, disk)
        return vmm.add_guest(resolve("unix"), name="unix", disk=str(disk))

    # At 160,920 instructions the shell is echoing `write f hi`, half of it still in
    # the UART's FIFO, and `ls` is typed but not handed over yet: both travel in the
    # snapshot; the file is written after the restore.  Both runs end idle at the
    # prompt (the kernel stops its clock tick there), in the same state.
    def check(g):
        assert bytes(g.input) == b"ls\n" and g.board.uart.rx_pending() and g.output.endswith(b"$ w")

    straight, restored = prove(add, split=160_920, end=None, tmp_path=tmp_path, at_split=check,
                               before=b"write f hi\nls\n", after=b"cat f\n", interactive=False)  # fmt: skip
    console = bytes(restored.output).decode()
    assert console.endswith("$ write f hi\n$ ls\nf 3\n$ cat f\nhi\n$ ")
    assert restored.state is GuestState.IDLE and restored.instructions > 160_920
    assert restored.board.net.mac == straight.board.net.mac == bytes.fromhex("525400000001")


def test_basic_with_a_program_typed_before_and_listed_after_the_snapshot_ends_the_same(tmp_path):
    def add(vmm):
        return vmm.add_guest(resolve("basic"), name="basic", net=False)

    _, restored = prove(add, split=11_000, end=40_000, tmp_path=tmp_path, before=b'10 PRINT "HI"\nRUN\n',
                        after=b"LIST\n", interactive=False)  # fmt: skip
    assert 'RUN\nHI\nREADY.\nLIST\n10 PRINT "HI"\nREADY.\n' in bytes(restored.output).decode()


def test_binary_translation_on_flawed_hardware_ends_the_same_and_keeps_its_originals(tmp_path):
    def add(vmm):
        return vmm.add_guest(resolve("eret-escape"), name="eret", net=False, remedy="bt")

    straight, restored = prove(add, split=15_000, end=None, tmp_path=tmp_path, flawed=True)
    assert b"ERET-ESCAPE: PROTECTED" in restored.output and restored.halt == ("pass", 0)
    assert restored.bt.patched, "nothing was patched: binary translation was not exercised"
    # The originals came along: switching the remedy off puts each one back.
    restored.set_remedy("none")
    for addr, word in straight.bt.patched.items():
        assert restored.window.read_u32(addr) == word


def test_a_reset_after_restore_boots_the_image_the_snapshot_carries(tmp_path):
    image = tmp_path / "hello.elf"
    shutil.copyfile(resolve("hello"), image)
    vmm = Vmm()
    g = vmm.add_guest(str(image), net=False)
    run_to(vmm, g, 50)
    assert g.output == b"Hello "  # part of its line
    save_guest(g, tmp_path / "h.snap")
    image.unlink()  # the file is gone (or rebuilt): the snapshot does not need it
    fresh = Vmm()
    restored = restore_guest(fresh, tmp_path / "h.snap")
    restored.reset()
    run_to(fresh, restored, None)
    assert restored.halt == ("pass", 0)
    assert bytes(restored.output) == b"Hello " + b"Hello from hello, a tuivmm guest!\n"  # from the start again


# --- disks -----------------------------------------------------------------------------------


@pytest.fixture
def disk_snapshot(tmp_path):
    """A tiny guest with a disk holding known bytes, saved; (the snapshot, those bytes)."""
    disk = tmp_path / "orig.img"
    content = bytes(range(256)) * 16
    disk.write_bytes(content)
    vmm, g = guest(TICKER, disk=str(disk))
    run_to(vmm, g, 100)
    save_guest(g, tmp_path / "d.snap")
    vmm.close()
    return tmp_path / "d.snap", content


def test_a_restored_disk_is_a_throwaway_copy_that_leaves_nothing_behind(disk_snapshot, tmp_path, monkeypatch):
    path, content = disk_snapshot
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(S.tempfile, "tempdir", str(scratch))
    g = restore_guest(Vmm(), path)
    assert g.board.blk.read_image() == content
    assert list(scratch.iterdir()) == []  # unlinked once open: nothing to clean up, however the run ends


def test_a_restored_disk_goes_to_a_new_file_or_an_identical_one_never_over_another(disk_snapshot, tmp_path):
    path, content = disk_snapshot
    kept = tmp_path / "kept.img"
    restore_guest(Vmm(), path, disk=kept).vmm.close()
    assert kept.read_bytes() == content
    restore_guest(Vmm(), path, disk=kept).vmm.close()  # the same contents: used as it is
    kept.write_bytes(b"someone's data" * 100)
    with pytest.raises(SnapshotError, match=r"kept\.img: exists and differs from the disk saved in .*d\.snap"):
        restore_guest(Vmm(), path, disk=kept)
    assert kept.read_bytes() == b"someone's data" * 100


# --- the file ---------------------------------------------------------------------------------


@pytest.fixture
def tiny_snapshot(tmp_path):
    vmm, g = guest(TICKER)
    run_to(vmm, g, 3_000)
    path = tmp_path / "tiny.snap"
    save_guest(g, path)
    return path


def damaged(path, tmp_path, change) -> str:
    data = bytearray(path.read_bytes())
    out = tmp_path / "bad.snap"
    out.write_bytes(change(data))
    return str(out)


def flip(offset):
    def change(data):
        data[offset] ^= 0x10
        return bytes(data)

    return change


def version(n):
    def change(data):
        struct.pack_into("<I", data, 16, n)
        return bytes(data)

    return change


CORRUPTIONS = {
    "truncated": (lambda data: bytes(data[: len(data) // 2]), r"truncated snapshot \(\d+ of \d+ bytes\)"),
    "cut in its prefix": (lambda data: bytes(data[:10]), r"truncated snapshot \(10 bytes\)"),
    "one byte flipped in the body": (flip(-100), r"corrupt snapshot \(checksum mismatch\)"),
    "one byte flipped in the header": (flip(40), r"corrupt snapshot \(checksum mismatch\)"),
    "bytes after its end": (lambda data: bytes(data) + b"\0", r"corrupt snapshot \(1 bytes after its end\)"),
    "a newer version": (version(S.FORMAT_VERSION + 1), r"snapshot format version 2; this tuivmm reads version 1"),
    "wrong magic": (lambda data: b"ELF" + bytes(data[3:]), r"not a tuivmm snapshot"),
    "not a snapshot at all": (lambda data: b"hello\n", r"not a tuivmm snapshot"),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_a_bad_snapshot_file_is_refused_in_one_line_with_status_2(kind, tiny_snapshot, tmp_path, capsys):
    change, message = CORRUPTIONS[kind]
    bad = damaged(tiny_snapshot, tmp_path, change)
    with pytest.raises(SnapshotError, match=message):
        read_snapshot(bad)
    assert main(["run", "--restore", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"tuivmm: {bad}: ")


def test_a_missing_snapshot_or_a_directory_is_refused_in_one_line(tmp_path, capsys):
    assert main(["run", "--restore", str(tmp_path / "nope.snap")]) == 2
    assert capsys.readouterr().err == f"tuivmm: {tmp_path / 'nope.snap'}: no such snapshot file\n"
    assert main(["run", "--restore", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"tuivmm: {tmp_path}: is a directory, not a snapshot\n"


def test_a_damaged_snapshot_through_the_real_command_is_one_line_and_no_traceback(tiny_snapshot, tmp_path):
    bad = damaged(tiny_snapshot, tmp_path, flip(-1))
    result = tuivmm("run", "--restore", bad)
    assert result.returncode == 2
    assert one_line_error(result) == f"tuivmm: {bad}: corrupt snapshot (checksum mismatch)"


def test_a_save_that_fails_leaves_the_existing_snapshot_untouched_and_no_litter(tiny_snapshot, tmp_path,
                                                                                monkeypatch):  # fmt: skip
    before = tiny_snapshot.read_bytes()
    vmm, g = guest(TICKER)
    run_to(vmm, g, 50)
    with pytest.raises(SnapshotError, match="no such directory"):
        save_guest(g, tmp_path / "no-such-dir" / "x.snap")

    def half_then_disk_full(header, sections):
        yield b"tuivmm-snapshot\n" + bytes(1000)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(S, "encode_file", half_then_disk_full)
    with pytest.raises(SnapshotError, match=r"tiny\.snap: cannot write it: No space left on device"):
        save_guest(g, tiny_snapshot)
    assert tiny_snapshot.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.snap"]


def test_a_crashed_guest_is_not_saved(tmp_path):
    _, g = guest(TICKER)
    g.crash("test: broken")
    with pytest.raises(SnapshotError, match=r"t crashed \(test: broken\); a crashed guest cannot be saved"):
        save_guest(g, tmp_path / "c.snap")
    assert not (tmp_path / "c.snap").exists()


def test_a_guest_saved_after_it_powered_off_comes_back_powered_off(tmp_path):
    vmm, g = guest(TICKER)
    run_to(vmm, g, None)
    save_guest(g, tmp_path / "off.snap")
    restored = restore_guest(Vmm(), tmp_path / "off.snap", name="again")
    assert (restored.name, restored.state, restored.halt, restored.reason) == ("again", GuestState.HALTED,
                                                                              ("pass", 0), "pass")  # fmt: skip
    assert_same_machine(g, restored)


def test_a_program_guest_snapshot_survives_in_a_file_of_plain_data(tiny_snapshot):
    snap = read_snapshot(tiny_snapshot)
    assert snap.name == "t" and snap.header["image"]["kind"] == "program"
    assert snap.section("image") == program(TICKER).data
    assert snap.header["guest"]["ram_size"] == 1 << 20 and snap.header["disk"] is None


# --- in another process, through the command line -------------------------------------------


@pytest.fixture(scope="module")
def unix_runs(tmp_path_factory):
    """`tuivmm run unix` straight until it waits at its prompt with its clock tick
    stopped (the run then ends idle; --max-insns 900,000 is only a cap), and the same
    run saved at 300,000 (input typed and read before the snapshot)."""
    where = tmp_path_factory.mktemp("unix")
    disk = where / "first.img"
    straight_disk = where / "straight.img"
    tufs.mkfs(disk)
    shutil.copyfile(disk, straight_disk)
    script = b"write f hi\nls\n"
    straight = tuivmm("run", "unix", "--disk", str(straight_disk), "--max-insns", "900000", stdin=script)
    first = tuivmm("run", "unix", "--disk", str(disk), "--max-insns", "300000", "--save", str(where / "u.snap"),
                   stdin=script)  # fmt: skip
    return where, straight, first


def test_a_run_saved_and_restored_in_another_process_prints_what_the_straight_run_prints(unix_runs):
    where, straight, first = unix_runs
    assert first.returncode == 124
    kib = -(-(where / "u.snap").stat().st_size // 1024)
    assert first.stderr.decode().splitlines() == [
        f"tuivmm: saved unix after 300000 instructions to {where / 'u.snap'} ({kib} KiB)",
        "tuivmm: unix stopped after 300000 instructions (--max-insns 300000)",
    ]
    restored = tuivmm("run", "--restore", str(where / "u.snap"), "--max-insns", "900000")
    assert restored.returncode == straight.returncode == 0  # both end waiting at the prompt
    assert restored.stdout == straight.stdout  # the console before the snapshot is shown again, then the rest
    assert "$ write f hi\n$ ls\nf 3\n$ " in by_guest(restored.stdout)["unix"].decode()
    last = restored.stderr.decode().splitlines()[-1]
    assert last == "tuivmm: the input has ended, and unix waits for more; stopping"


def test_a_restored_run_reads_new_input_and_keeps_its_disk_in_a_file_named_for_it(unix_runs):
    where, _, _ = unix_runs
    kept = where / "kept.img"
    result = tuivmm("run", "--restore", str(where / "u.snap"), "--disk", f"unix={kept}", "--max-insns", "900000",
                    "--save", str(where / "u2.snap"), stdin=b"cat f\n")  # fmt: skip
    assert result.returncode == 0, result.stderr  # waiting at the prompt after `cat f`
    assert "$ cat f\nhi\n$ " in by_guest(result.stdout)["unix"].decode()
    assert tufs.open_image(kept).read_file("f") == b"hi\n"
    assert 300_000 < read_snapshot(where / "u2.snap").header["vcpu"]["icount"] < 900_000
    other = where / "other.img"
    tufs.mkfs(other)  # an empty file system: not the disk in the snapshot
    refused = tuivmm("run", "--restore", str(where / "u.snap"), "--disk", f"unix={other}")
    assert refused.returncode == 2
    assert "exists and differs from the disk saved in" in one_line_error(refused)


def test_save_options_that_cannot_work_are_refused_before_anything_runs(tmp_path, capsys):
    assert main(["run", "hello", "--save", str(tmp_path / "no" / "x.snap")]) == 2
    nowhere = tmp_path / "no"
    assert capsys.readouterr().err == f"tuivmm: --save {nowhere / 'x.snap'}: no such directory {nowhere}\n"
    assert main(["run", "hello", "hello", "--save", str(tmp_path / "x.snap")]) == 2
    assert "--save needs NAME=FILE when there is more than one guest" in capsys.readouterr().err
    assert main(["run", "hello", "--save", f"nobody={tmp_path / 'x.snap'}"]) == 2
    assert "no guest named nobody in this run (hello)" in capsys.readouterr().err
    assert main(["run"]) == 2
    assert capsys.readouterr().err == "tuivmm: run: no GUEST given (name one, or --restore FILE)\n"
    assert not any(tmp_path.iterdir())


def test_a_guest_asleep_for_good_is_saved_when_the_run_ends_and_restored_asleep(tmp_path):
    source = tmp_path / "sleepy.S"
    source.write_text(f"""
_start: li   t0, {UART:#x}
        li   t1, 122                # 'z'
        sb   t1, 0(t0)
1:      wfi                         # no timer, no interrupt enabled: asleep for good
        j    1b
""")
    saved = tuivmm("run", str(source), "--save", str(tmp_path / "s.snap"))
    assert saved.returncode == 3
    assert saved.stderr.decode().splitlines()[0].startswith(f"tuivmm: saved sleepy after 4 instructions to {tmp_path}")
    again = tuivmm("run", "--restore", str(tmp_path / "s.snap"))
    assert again.returncode == 3 and again.stdout == saved.stdout == b"[sleepy] z\n"
    assert again.stderr.decode() == "tuivmm: sleepy is asleep with no timer armed and no input left; stopping\n"


def test_the_same_snapshot_restored_twice_warns_that_the_two_share_a_mac(unix_runs):
    where, _, _ = unix_runs
    snap = str(where / "u.snap")
    result = tuivmm("run", "--restore", snap, "--restore", snap, "hello", "--max-insns", "700000")
    lines = result.stderr.decode().splitlines()
    warning = ("tuivmm: unix-2 has the same MAC (52:54:00:00:00:01) as unix, so the same address: "
               "the virtual switch will mix up their frames")  # fmt: skip
    assert lines.count(warning) == 1, lines
    assert not any("hello has the same MAC" in line for line in lines)  # a new guest gets a MAC of its own
    assert b"[hello] Hello from hello" in result.stdout
