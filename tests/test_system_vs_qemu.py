"""Whole-system runs: each C program in tests/programs on our bare machine and on
QEMU's virt board must print the same bytes and power off with the same status.

QEMU is the oracle.  The programs print only what the spec fixes, never counts
or times, since QEMU's clock is the host's and ours counts instructions.
"""

from pathlib import Path

from toolchain import build_program, run_ours, run_qemu

SECTOR = 512
DISK_SIZE = 64 * 1024
SECTOR0_TEXT = b"This is sector zero of the tuivmm test disk.\n"
SECTOR1_PATTERN = b"disk.c wrote this sector. "  # what disk.c writes, repeated


def assert_same_run(ours: tuple[int, bytes], qemu: tuple[int, bytes]) -> None:
    """Same console bytes (latin-1 maps bytes one to one, for a readable diff), and
    both machines powered off with success."""
    (our_code, our_output), (qemu_code, qemu_output) = ours, qemu
    assert our_output.decode("latin-1") == qemu_output.decode("latin-1")
    assert (our_code, qemu_code) == (0, 0)


def test_echo_takes_uart_interrupts_through_the_plic_as_qemu_does():
    elf = build_program("echo")
    typed = b"hello\nworld\nquit\n"
    ours, qemu = run_ours(elf, stdin=typed), run_qemu(elf, stdin=typed)
    assert_same_run(ours, qemu)
    assert qemu[1] == b"echo: ready\n1: HELLO\n2: WORLD\necho: bye after 2 lines\n"


def test_timer_interrupts_arrive_at_vector_7_and_time_agrees_with_mtime_as_on_qemu():
    elf = build_program("timer")
    ours, qemu = run_ours(elf), run_qemu(elf)
    assert_same_run(ours, qemu)
    assert b"tick 5: mtime>=mtimecmp yes" in qemu[1]
    assert qemu[1].endswith(b"5 ticks\ntime ok\n")


def test_paging_kernel_and_user_program_see_the_faults_qemu_sees():
    elf = build_program("paging")
    ours, qemu = run_ours(elf), run_qemu(elf)
    assert_same_run(ours, qemu)
    assert b"user page load without SUM: fault scause=13 stval=0x40000000\n" in qemu[1]
    assert b"kernel: page fault at 0x80000000 scause=13" in qemu[1]


def fresh_disk(path: Path) -> bytes:
    image = bytearray(DISK_SIZE)
    image[: len(SECTOR0_TEXT)] = SECTOR0_TEXT
    path.write_bytes(image)
    return bytes(image)


def test_disk_driver_reads_and_writes_the_image_as_on_qemu(tmp_path):
    elf = build_program("disk")
    our_disk, qemu_disk = tmp_path / "ours.img", tmp_path / "qemu.img"
    before = fresh_disk(our_disk)
    fresh_disk(qemu_disk)
    ours, qemu = run_ours(elf, disk=our_disk), run_qemu(elf, disk=qemu_disk)
    assert_same_run(ours, qemu)
    assert f'sector 0: "{SECTOR0_TEXT[:32].decode()}"\n'.encode() in qemu[1]
    assert b"capacity: 128 sectors" in qemu[1]
    expected = bytearray(before)
    expected[SECTOR : 2 * SECTOR] = (SECTOR1_PATTERN * (SECTOR // len(SECTOR1_PATTERN) + 1))[:SECTOR]
    assert qemu_disk.read_bytes() == bytes(expected)
    assert our_disk.read_bytes() == qemu_disk.read_bytes()


def test_csr_facts_the_spec_fixes_read_the_same_as_on_qemu():
    elf = build_program("csrs")
    ours, qemu = run_ours(elf), run_qemu(elf)
    assert_same_run(ours, qemu)
    assert b"satp MODE after satp = ~0".ljust(34) + b"00000001\n" in qemu[1]


def test_plic_keeps_a_request_pending_after_the_source_drops_it_as_qemu_does():
    elf = build_program("plic")
    ours, qemu = run_ours(elf), run_qemu(elf)
    assert_same_run(ours, qemu)
    assert b"dropped before claim: pending 1 meip 1\n" in qemu[1]
