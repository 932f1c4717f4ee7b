"""eret-escape-pv: eret-escape built paravirtual.  Its kernel leaves for user mode with
the HV_SRET hypercall (guests/include/hypercall.h) where eret-escape executes SRET; on
the bare machine its own M-mode shim serves the call.

Checked here: the same story and verdict as eret-escape, the same bytes as on QEMU,
no SRET anywhere in the image (by GNU objdump, not our disassembler), and the call's
documented effect, both as the guest's shim does it and as a host that serves the call
itself (as a VMM's pv remedy would) does it, resuming the user with its own registers."""

import re
from pathlib import Path

import pytest
from test_cli import tuivmm
from toolchain import cross_tool, run_qemu, run_tool

from machine.board import Board
from machine.cpu import csrs as C
from machine.cpu.trap import Exit, ExitKind
from tuivmm.lineup.packaged import IMAGES

ROOT = Path(__file__).resolve().parent.parent
PV = IMAGES / "eret-escape-pv.elf"
PLAIN = IMAGES / "eret-escape.elf"
ECALL = 0x0000_0073


def hypercall_abi() -> tuple[int, int]:
    """(TUIVMM_HV_EID, HV_SRET) as hypercall.h defines them."""
    text = (ROOT / "guests" / "include" / "hypercall.h").read_text()
    defines = re.findall(r"^#define (\w+)\s+(0x[0-9A-Fa-f]+|\d+)", text, re.MULTILINE)
    number = {name: int(value, 0) for name, value in defines}
    return number["TUIVMM_HV_EID"], number["HV_SRET"]


EID, HV_SRET = hypercall_abi()


@pytest.mark.parametrize("flags", [(), ("--flawed-eret",)], ids=["correct", "flawed-eret"])
def test_pv_guest_is_protected_on_the_bare_machine_with_and_without_the_flaw(flags):
    result = tuivmm("bare", *flags, "eret-escape-pv")
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.decode().splitlines()[-1] == "ERET-ESCAPE: PROTECTED"


def test_pv_guest_on_the_flawed_bare_machine_prints_exactly_what_it_prints_on_qemu():
    ours = tuivmm("bare", "--flawed-eret", "eret-escape-pv")
    code, qemu_out = run_qemu(PV)
    assert ours.returncode == code == 0
    assert ours.stdout == qemu_out


def test_pv_guest_tells_the_plain_guests_story_but_how_it_returns_to_user_mode():
    plain = tuivmm("bare", "eret-escape").stdout.decode().splitlines()
    pv = tuivmm("bare", "eret-escape-pv").stdout.decode().splitlines()
    differ = {
        "eret-escape: M-mode: open PMP, delegate traps to S-mode, mret to the kernel":
            "eret-escape-pv: M-mode: open PMP, delegate traps to S-mode (all but its HV_SRET "
            "hypercalls), mret to the kernel",
        "eret-escape: entering user mode with sret":
            "eret-escape-pv: entering user mode with the HV_SRET hypercall instead of sret",
    }  # fmt: skip
    assert set(differ) <= set(plain)
    expected = [differ.get(line, re.sub(r"^eret-escape:", "eret-escape-pv:", line)) for line in plain]
    assert pv == expected


def test_hypercall_extension_id_is_in_the_sbi_experimental_range():
    assert 0x0800_0000 <= EID <= 0x08FF_FFFF
    assert EID.to_bytes(4, "big")[1:] == b"TVM"


def mnemonics(elf: Path) -> list[str]:
    """Every instruction's mnemonic in the image's code sections, by GNU objdump."""
    listing = run_tool(cross_tool("objdump"), "-d", elf)
    return [fields[2].split()[0] for line in listing.splitlines() if len(fields := line.split("\t")) >= 3]


def test_pv_image_holds_no_sret_where_the_plain_image_holds_its_one():
    assert mnemonics(PLAIN).count("sret") == 1  # the check does see an SRET where there is one
    pv = mnemonics(PV)
    assert "sret" not in pv
    assert "ecall" in pv


# --- running the images on a board, watching every register at every change of mode -----


def user_switches(board: Board) -> tuple[list[list[int]], list[list[int]]]:
    """Record the user's registers at every trap out of U-mode (`exits`) and at the first
    instruction after every return to U-mode (`entries`).  The hart single-steps so the
    tracer sees every instruction."""
    hart = board.hart
    exits: list[list[int]] = []
    entries: list[list[int]] = []
    in_user = False

    def on_trap(cause, tval, epc, from_priv, to_priv):
        nonlocal in_user
        if from_priv == C.U:
            exits.append(list(hart.x))
            in_user = False

    def tracer(hart_, pc):
        nonlocal in_user
        if hart_.priv == C.U and not in_user:
            entries.append(list(hart_.x))
            in_user = True

    hart.on_trap = on_trap
    hart.tracer = tracer
    hart.stepping = True
    return exits, entries


def run_to_poweroff(board: Board, serve=None) -> list[Exit]:
    """Run until the guest powers off with success; every host-mode exit goes to
    `serve(board, exit)` and is returned, in order."""
    exits = []
    for _ in range(100):
        exit_ = board.hart.run(1_000_000)
        if exit_.kind is ExitKind.HALT:
            assert (exit_.halt, exit_.code) == ("pass", 0), board.output.decode()
            return exits
        if exit_.kind is ExitKind.TRAP:
            assert serve is not None, exit_.describe()
            exits.append(exit_)
            serve(board, exit_)
        else:
            assert exit_.kind is ExitKind.BUDGET, exit_.describe()
    raise AssertionError(f"no power-off; console so far: {board.output.decode()}")


def serve_hv_sret(board: Board, exit_: Exit) -> None:
    """HV_SRET as hypercall.h documents it, done by the host instead of the guest's shim."""
    hart = board.hart
    assert (exit_.cause, exit_.priv, exit_.insn) == (C.ECALL_FROM_S, C.S, ECALL), exit_.describe()
    assert (hart.x[17], hart.x[16]) == (EID, HV_SRET)
    hart.x[16] = board.ram.read_u32(hart.sscratch)  # the save area: a6, then a7
    hart.x[17] = board.ram.read_u32(hart.sscratch + 4)
    status = hart.mstatus
    hart.priv = C.S if status & C.MSTATUS_SPP else C.U
    status &= ~(C.MSTATUS_SPP | C.MSTATUS_SIE)
    if status & C.MSTATUS_SPIE:
        status |= C.MSTATUS_SIE
    hart.mstatus = status | C.MSTATUS_SPIE
    hart.pc = hart.sepc


def boot(image: Path) -> Board:
    board = Board(1 << 20, ram_fill=0xAA)
    board.load(image)
    return board


def boot_and_run(image: Path) -> bytes:
    board = boot(image)
    run_to_poweroff(board)
    return bytes(board.output)


def assert_user_sees_its_own_registers(board: Board, exits, entries) -> None:
    # First entry: every register zero but sp, at the top of the user's stack page.
    first = [0] * 32
    first[2] = board.image.symbols["user_end"]
    assert entries[0] == first
    # After each trap the kernel returns from: exactly the registers the user trapped with
    # (the kernel changes none of them, only sepc).  The last trap, SYS_EXIT, never returns.
    assert len(entries) == len(exits) == 7  # 3 attempts stopped, 3 reports, 1 exit
    for n in range(1, len(entries)):
        assert entries[n] == exits[n - 1], f"return {n}: the user's registers changed"


def test_pv_shim_resumes_the_user_with_exactly_its_own_registers():
    board = boot(PV)
    exits, entries = user_switches(board)
    run_to_poweroff(board)
    assert_user_sees_its_own_registers(board, exits, entries)
    assert board.output.decode().splitlines()[-1] == "ERET-ESCAPE: PROTECTED"


def test_in_host_mode_only_the_hv_sret_hypercall_reaches_m_mode_and_a_host_can_serve_it():
    board = boot(PV)
    board.hart.host_mode = True
    exits, entries = user_switches(board)
    hypercalls = run_to_poweroff(board, serve_hv_sret)
    # One call for the first entry to user mode and one per trap the kernel returns from,
    # all from the one ecall in userret.
    assert len(hypercalls) == 7
    (site,) = {exit_.epc for exit_ in hypercalls}
    symbols = board.image.symbols
    after_userret = min(address for address in symbols.values() if address > symbols["userret"])
    assert symbols["userret"] < site < after_userret
    assert_user_sees_its_own_registers(board, exits, entries)
    assert board.output == boot_and_run(PV)


def test_in_host_mode_the_plain_kernels_sret_never_reaches_the_layer_below():
    board = boot(PLAIN)
    board.hart.host_mode = True
    assert run_to_poweroff(board) == []  # no exits: nothing to serve
    assert board.output.decode().splitlines()[-1] == "ERET-ESCAPE: PROTECTED"
