"""The board: its memory map, unmapped addresses, and running with console input."""

from machine import board as B
from machine.board import Board
from machine.cpu import csrs as C
from machine.cpu.asm import assemble
from machine.runner import SLICE, BytesInput, ConsoleRunner


def test_devices_sit_at_the_qemu_virt_addresses():
    regions = {name: (base, end) for base, end, name in Board(1 << 20).bus.regions()}
    assert regions["finisher"][0] == 0x0010_0000
    assert regions["clint"] == (0x0200_0000, 0x0201_0000)
    assert regions["plic"] == (0x0C00_0000, 0x1000_0000)
    assert regions["uart0"][0] == 0x1000_0000
    for slot in range(8):
        assert regions[f"virtio{slot}"] == (0x1000_1000 + slot * 0x1000, 0x1000_2000 + slot * 0x1000)


def test_load_from_an_address_with_no_device_is_a_load_access_fault():
    prog = assemble("""
        la t0, handler
        csrw mtvec, t0
        li t1, 0x40000000
        lw t2, 0(t1)
    handler:
        csrr a0, mcause
        csrr a1, mtval
        li t0, 0x100000
        li t1, 0x5555
        sw t1, 0(t0)
    """)
    board = Board(1 << 20)
    board.load_program(prog.data)
    outcome = ConsoleRunner(board).run(1000)
    assert outcome.kind == "pass"
    assert board.hart.x[10] == C.LOAD_ACCESS_FAULT
    assert board.hart.x[11] == 0x4000_0000


def test_empty_virtio_slot_shows_magic_version_and_no_device():
    prog = assemble("""
        li t0, 0x10008000
        lw a0, 0(t0)
        lw a1, 4(t0)
        lw a2, 8(t0)
        li t0, 0x100000
        li t1, 0x5555
        sw t1, 0(t0)
    """)
    board = Board(1 << 20)
    board.load_program(prog.data)
    ConsoleRunner(board).run(100)
    assert board.hart.x[10:13] == [0x74726976, 2, 0]


# A polling echo: it resets the UART FIFOs only after a delay (as a kernel's uartinit
# would), then answers each byte b with b+1 until it reads 'q'.
POLLING_ECHO = """
    li s0, 0x10000000
    li t0, 5000
delay: addi t0, t0, -1
    bnez t0, delay
    li t0, 7            # FCR: enable and clear both FIFOs
    sb t0, 2(s0)
poll: lbu t0, 5(s0)     # LSR
    andi t0, t0, 1
    beqz t0, poll
    lbu t1, 0(s0)
    li t2, 'q'
    beq t1, t2, done
    addi t1, t1, 1
    sb t1, 0(s0)
    j poll
done:
    li t0, 0x100000
    li t1, 0x5555
    sw t1, 0(t0)
"""


def run_echo(data: bytes):
    board = Board(1 << 20)
    board.load_program(assemble(POLLING_ECHO).data)
    traps = []
    board.hart.on_trap = lambda *t: traps.append(t)
    outcome = ConsoleRunner(board, BytesInput(data)).run(2_000_000)
    return board, outcome


def test_input_sent_before_the_guest_resets_its_uart_is_not_lost():
    board, outcome = run_echo(b"abc\nxyz\nq\n")
    assert outcome.kind == "pass"
    assert bytes(board.output) == bytes(b + 1 for b in b"abc\nxyz\n")


def test_the_same_input_gives_the_same_run_instruction_for_instruction():
    first, out1 = run_echo(b"hello\nworld\nq\n")
    second, out2 = run_echo(b"hello\nworld\nq\n")
    assert out1 == out2
    assert first.output == second.output
    assert first.hart.x == second.hart.x


def test_a_guest_asleep_with_no_timer_and_no_input_ends_the_run_as_idle():
    board = Board(1 << 20)
    board.load_program(assemble("wfi\nj .").data)
    outcome = ConsoleRunner(board, BytesInput(b"")).run(10_000)
    assert outcome.kind == "idle"
    assert outcome.exit_status == 3


def test_finisher_reset_restarts_the_program_from_its_entry():
    # First pass: bump a counter in RAM that survives only until reset; the program
    # stores 0x7777 (reset) once, then after the restart reports pass.
    prog = assemble("""
        la t0, flag
        lw t1, 0(t0)
        li t2, 0x100000
        bnez t1, second
        li t1, 1
        sw t1, 0(t0)
        li t3, 0x7777
        sw t3, 0(t2)
    second:
        li t3, 0x5555
        sw t3, 0(t2)
    flag: .word 0
    """)
    board = Board(1 << 20)
    board.load_program(prog.data)
    outcome = ConsoleRunner(board).run(1000)
    # load_program images are not reloaded by reset (no ELF), so RAM keeps flag=1 and
    # the second pass takes the branch: 10 instructions, reset, then 8 more.
    assert outcome.kind == "pass"
    assert outcome.instructions == 18


def test_board_constants_describe_the_layout():
    assert B.RAM_BASE == 0x8000_0000
    assert B.UART0_IRQ == 10
    assert B.VIRTIO_IRQ_BASE + B.VIRTIO_BLK_SLOT == 1


# Prints a banner (each byte: read LSR, write THR), then looks ONCE for input that
# arrived while it was only transmitting, then polls and echoes until 'q'.
BANNER_THEN_POLL = """
    li s0, 0x10000000
    la s1, banner
print:
    lbu t1, 0(s1)
    beqz t1, check
wait_thre:
    lbu t0, 5(s0)
    andi t0, t0, 0x20
    beqz t0, wait_thre
    sb t1, 0(s0)
    addi s1, s1, 1
    j print
check:
    lbu t0, 5(s0)       # one look: is there input already?
    andi t0, t0, 1
    li t1, 'C'          # clean
    beqz t0, say
    li t1, 'E'          # early
say:
    sb t1, 0(s0)
poll:
    lbu t0, 5(s0)
    andi t0, t0, 1
    beqz t0, poll
    lbu t1, 0(s0)
    li t2, 'q'
    beq t1, t2, done
    sb t1, 0(s0)
    j poll
done:
    li t0, 0x100000
    li t1, 0x5555
    sw t1, 0(t0)
banner: .asciz "booting...\\n"
"""


def test_reading_the_line_status_only_to_transmit_does_not_count_as_waiting_for_input():
    board = Board(1 << 20)
    board.load_program(assemble(BANNER_THEN_POLL).data)
    outcome = ConsoleRunner(board, BytesInput(b"hi\nq\n")).run(1_000_000)
    assert outcome.kind == "pass"
    assert bytes(board.output) == b"booting...\nChi\n"


def test_a_guest_polling_the_receiver_itself_gets_its_input_at_the_first_look():
    # Busy loop that only reads RBR (never LSR, never WFI): that is polling too.
    prog = assemble("""
        li s0, 0x10000000
    spin:
        lbu t0, 0(s0)
        beqz t0, spin
        li t0, 0x100000
        li t1, 0x5555
        sw t1, 0(t0)
    """)
    counts = _passes_twice(prog, b"x\n")
    assert counts[0] == counts[1] < 250_000  # the same instruction every run: the first look


def test_a_busy_guest_with_the_receive_interrupt_on_gets_its_input_after_patience_runs_out():
    # It polls for a first line, then runs on without sleeping with the receive
    # interrupt on (a runaway program a script means to stop with Ctrl-C): the
    # second line comes once PATIENCE instructions have passed.
    prog = assemble("""
        li   s0, 0x10000000
    first:
        lbu  t0, 5(s0)           # polling the line status: it asks for input
        andi t0, t0, 1
        beqz t0, first
        li   t0, 1
        sb   t0, 1(s0)           # IER: receive interrupt on (never taken: mie is 0)
    drain:
        lbu  t0, 0(s0)           # the line, read whole
        lbu  t0, 5(s0)
        andi t0, t0, 1
        bnez t0, drain
    spin:
        lbu  t0, 5(s0)           # LSR, once in a while, between long stretches of work
        andi t0, t0, 1
        bnez t0, got
        li   t1, 2000
    work:
        addi t1, t1, -1
        bnez t1, work
        j    spin
    got:
        li t0, 0x100000
        li t1, 0x5555
        sw t1, 0(t0)
    """)
    counts = _passes_twice(prog, b"x\ny\n")
    assert counts[0] == counts[1]
    # x at the first look (SLICE), y at the first look after patience ran out from there
    assert SLICE + 300_000 <= counts[0] < SLICE + 300_000 + SLICE + 50_000


def _passes_twice(prog, stdin: bytes) -> list[int]:
    """Run `prog` with scripted `stdin` (patience 300,000) on two fresh boards: the
    instructions each took to pass."""
    counts = []
    for _ in range(2):
        board = Board(1 << 20)
        board.load_program(prog.data)
        outcome = ConsoleRunner(board, BytesInput(stdin), patience=300_000).run(2_000_000)
        assert outcome.kind == "pass"
        counts.append(outcome.instructions)
    return counts
