"""`tuivmm` as a user runs it: a subprocess, its exit status, stdout and stderr."""

import os
import re
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from toolchain import run_qemu

ROOT = Path(__file__).resolve().parent.parent


def tuivmm(*args: str, stdin: bytes = b"", timeout: float = 120,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m tuivmm ARGS` from the repository root; `env` adds to the environment."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "tuivmm", *args], input=stdin, capture_output=True,
                          timeout=timeout, env=env, cwd=ROOT)  # fmt: skip


def test_bare_prints_exactly_what_qemu_prints_for_the_c_program(hello_elf):
    ours = tuivmm("bare", str(hello_elf))
    code, qemu_out = run_qemu(hello_elf)
    assert ours.returncode == code == 0
    assert ours.stdout == qemu_out
    assert ours.stderr == b""


def test_bare_stops_at_the_instruction_limit_with_status_124(hello_elf):
    result = tuivmm("bare", "--max-insns", "500", str(hello_elf))
    assert result.returncode == 124
    assert result.stderr.decode().strip() == "tuivmm: stopped after 500 instructions (--max-insns)"


def test_bare_trace_lists_each_instruction_with_its_disassembly(hello_elf, tmp_path):
    trace = tmp_path / "trace.txt"
    result = tuivmm("bare", "--max-insns", "20", "--trace", str(trace), str(hello_elf))
    assert result.returncode == 124
    lines = trace.read_text().splitlines()
    assert len(lines) == 20
    match = re.fullmatch(r"\s*(\d+) ([MSU]) ([0-9a-f]{8}): ([0-9a-f]{8})  (.*)", lines[0])
    assert match is not None, lines[0]
    assert match.group(1, 2, 3) == ("0", "M", "80000000")
    objdump = subprocess.run(["riscv64-unknown-elf-objdump", "-d", str(hello_elf)], capture_output=True, text=True).stdout
    entry = next(line for line in objdump.splitlines() if line.strip().startswith("80000000:"))
    _, bits, text = entry.split("\t", 2)
    assert match.group(4) == bits.strip()
    assert match.group(5).split() == text.split()


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    return err.strip()


def test_missing_image_is_a_one_line_error():
    result = tuivmm("bare", "no/such/image.elf")
    assert result.returncode == 2
    assert _one_line_error(result) == (
        "tuivmm: no/such/image.elf: no such file or packaged guest (`tuivmm guests` lists them)"
    )


def test_non_elf_image_is_a_one_line_error(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"this is not an ELF file at all")
    result = tuivmm("bare", str(junk))
    assert result.returncode == 2
    assert _one_line_error(result).startswith(f"tuivmm: {junk}: not an ELF file")


def test_host_executable_is_refused_as_the_wrong_architecture():
    result = tuivmm("bare", "/bin/true")
    assert result.returncode == 2
    assert "not RISC-V" in _one_line_error(result)


def test_a_missing_disk_file_is_made_as_a_fresh_tufs_image_for_any_guest(hello_elf, tmp_path):
    from tuivmm.disk.tufs import open_image

    image = tmp_path / "fresh.img"
    result = tuivmm("bare", "--disk", str(image), str(hello_elf))
    assert result.returncode == 0
    assert _one_line_error(result) == f"tuivmm: made a fresh empty 2 MiB unix disk (TUFS) at {image}"
    disk = open_image(image)
    assert (disk.size, disk.list(), disk.check()) == (2048, [], [])


def test_a_disk_in_a_missing_directory_is_a_one_line_error(hello_elf, tmp_path):
    image = tmp_path / "no" / "such" / "disk.img"
    result = tuivmm("bare", "--disk", str(image), str(hello_elf))
    assert result.returncode == 2
    assert result.stdout == b""
    assert _one_line_error(result) == (
        f"tuivmm: {image}: cannot make a disk image there: no such directory {image.parent}"
    )


def test_a_missing_read_only_disk_is_a_one_line_error(hello_elf, tmp_path):
    image = tmp_path / "nope.img"
    result = tuivmm("bare", "--disk", str(image), "--disk-ro", str(hello_elf))
    assert result.returncode == 2
    assert _one_line_error(result) == f"tuivmm: {image}: no such disk image (with --disk-ro it must exist)"
    assert not image.exists()


def test_disk_ro_without_a_disk_is_a_one_line_error(hello_elf):
    result = tuivmm("bare", "--disk-ro", str(hello_elf))
    assert result.returncode == 2
    assert _one_line_error(result) == "tuivmm: --disk-ro needs --disk FILE"


def test_a_missing_image_is_reported_before_any_disk_is_made(tmp_path):
    image = tmp_path / "fresh.img"
    result = tuivmm("bare", "--disk", str(image), "no/such/image.elf")
    assert result.returncode == 2
    assert "no such file or packaged guest" in _one_line_error(result)
    assert not image.exists()


def test_a_guest_that_wants_no_disk_runs_without_one_and_says_nothing(hello_elf, tmp_path):
    result = tuivmm("bare", str(hello_elf), env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0
    assert result.stderr == b""
    assert list(tmp_path.iterdir()) == []


def test_bad_option_value_is_refused_by_the_parser(hello_elf):
    result = tuivmm("bare", "--max-insns", "lots", str(hello_elf))
    assert result.returncode == 2
    assert "not a number" in result.stderr.decode()


def test_debug_shows_the_traceback():
    result = tuivmm("--debug", "bare", "no/such/image.elf")
    assert result.returncode != 0
    assert "Traceback" in result.stderr.decode()


def test_help_names_the_dashboard_command():
    top = tuivmm("--help").stdout.decode()
    assert "dash [GUEST...]" in top and "the default lineup" in top
    sub = tuivmm("dash", "--help").stdout.decode()
    for option in ("--config", "--flawed-eret", "--remedy"):
        assert option in sub


def test_serve_refuses_a_misspelled_guest_as_dash_does_before_it_listens():
    result = tuivmm("serve", "--port", "0", "uinx")
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "tuivmm: uinx: no such file or packaged guest; did you mean unix? (`tuivmm guests` lists them)\n"
    )
    assert result.stdout == b""  # no address: nothing was served


def test_serve_on_a_port_in_use_is_a_one_line_error():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = tuivmm("serve", "--port", str(port), "unix")
    assert result.returncode == 2
    assert result.stderr.decode() == (
        f"tuivmm: port {port} on 127.0.0.1 is in use; choose another with --port (0: any free one)\n"
    )
    assert result.stdout == b""


@pytest.mark.parametrize(
    ("argv", "passed_on"),
    [
        (["serve"], []),
        (["serve", "--port", "8123", "unix", "hello"], ["unix", "hello"]),
        (["--debug", "serve", "--ram", "unix=64", "--port=8123", "unix"], ["--debug", "--ram", "unix=64", "unix"]),
        (["serve", "--config", "l.toml", "--po", "0", "--", "-odd.S"], ["--config", "l.toml", "--", "-odd.S"]),
    ],
)
def test_serve_starts_each_dashboard_with_its_own_arguments_but_the_port(argv, passed_on):
    from tuivmm.cli.serve import dash_arguments

    assert dash_arguments(argv, debug="--debug" in argv) == passed_on


def test_help_documents_the_bare_command_and_its_options():
    top = tuivmm("--help").stdout.decode()
    assert "bare IMAGE" in top
    sub = tuivmm("bare", "--help").stdout.decode()
    for option in ("--ram", "--disk", "--no-disk", "--disk-ro", "--max-insns", "--flawed-eret", "--trace",
                   "--dtb", "--no-dtb", "--dumpdtb", "--append"):
        assert option in sub


@pytest.mark.parametrize(
    ("args", "given"),
    [
        (["bare", "--ram", "5000", "hello"], "5000"),
        (["bare", "--ram", "99999", "hello"], "99999"),
        (["bare", "--ram", "1025", "hello"], "1025"),
        (["run", "--ram", "5000", "hello"], "5000"),
        (["run", "--ram", "hello=1025", "hello"], "hello=1025"),
    ],
)
def test_bare_and_run_refuse_more_ram_than_a_guest_may_have_naming_the_limit(args, given):
    # One bound for every guest, as in a lineup file's ram_mib: 1 to 1024 MiB; a usage
    # error, as any other bad option value is.
    result = tuivmm(*args)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.startswith(f"usage: tuivmm {args[0]}") and "Traceback" not in err
    assert err.splitlines()[-1].endswith(f"argument --ram: must be a whole number of MiB from 1 to 1024: '{given.split('=')[-1]}'")
    assert result.stdout == b""


def test_bare_and_run_take_a_guest_of_1024_mib():
    assert tuivmm("bare", "--ram", "1024", "hello").stdout == b"Hello from hello, a tuivmm guest!\n"
    assert tuivmm("run", "--ram", "1024", "hello").stdout == b"[hello] Hello from hello, a tuivmm guest!\n"


def test_ram_the_host_cannot_give_is_a_one_line_error_about_the_ram():
    def little_address_space() -> None:  # in the child: too little room to map 1 GiB
        resource.setrlimit(resource.RLIMIT_AS, (700 << 20, 700 << 20))

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "tuivmm", "bare", "--ram", "1024", "hello"], env=env, cwd=ROOT,
                            capture_output=True, timeout=120, preexec_fn=little_address_space, check=False)  # fmt: skip
    assert result.returncode == 2
    assert _one_line_error(result).startswith("tuivmm: --ram 1024: the host cannot give the machine 1024 MiB of RAM")


HELLO_ASM = """
# print a line through the UART, then power off through the finisher
_start:
    li t0, 0x10000000
    la t1, msg
next:
    lbu t2, 0(t1)
    beqz t2, done
    sb t2, 0(t0)
    addi t1, t1, 1
    j next
done:
    li t0, 0x100000
    li t1, 0x5555
    sw t1, 0(t0)
msg: .asciz "assembled by tuivmm\\n"
"""


def test_bare_assembles_and_runs_an_assembly_file(tmp_path):
    source = tmp_path / "hello.S"
    source.write_text(HELLO_ASM)
    result = tuivmm("bare", str(source))
    assert result.returncode == 0
    assert result.stdout == b"assembled by tuivmm\n"


def test_assembly_error_names_the_file_and_line(tmp_path):
    source = tmp_path / "bad.S"
    source.write_text("_start:\n    addi t0, t0\n")
    result = tuivmm("bare", str(source))
    assert result.returncode == 2
    assert _one_line_error(result).startswith(f"tuivmm: {source}: line 2:")


# M-mode sets mepc to a user routine and drops to U-mode with MRET.  The user routine
# executes SRET with sepc pointing at `escaped`.  Correct hardware traps (illegal
# instruction) into the M-mode handler; flawed hardware lets U-mode jump to sepc with
# the privilege in SPP (here S) — the lecture's gotcha.
ERET_PROBE = """
_start:
    li t0, 0x10000000
    li t1, -1               # PMP entry 0: all memory, RWX, NAPOT (else U-mode can't fetch)
    csrw pmpaddr0, t1
    li t1, 0x1f
    csrw pmpcfg0, t1
    la t1, handler
    csrw mtvec, t1
    la t1, escaped
    csrw sepc, t1
    li t1, 0x100            # sstatus.SPP = S
    csrs sstatus, t1
    la t1, user
    csrw mepc, t1
    li t1, 0x1800           # mstatus.MPP = U
    csrc mstatus, t1
    mret
user:
    sret
escaped:
    li t1, 'E'
    sb t1, 0(t0)
    j done
handler:
    li t1, 'T'
    sb t1, 0(t0)
    csrr t1, mcause         # print the cause as a digit: 2 = illegal instruction
    addi t1, t1, '0'
    sb t1, 0(t0)
done:
    li t1, 10
    sb t1, 0(t0)
    li t0, 0x100000
    li t1, 0x5555
    sw t1, 0(t0)
"""


def test_sret_in_user_mode_traps_on_correct_hardware(tmp_path):
    source = tmp_path / "probe.S"
    source.write_text(ERET_PROBE)
    assert tuivmm("bare", str(source)).stdout == b"T2\n"


def test_flawed_eret_lets_user_mode_sret_escape(tmp_path):
    source = tmp_path / "probe.S"
    source.write_text(ERET_PROBE)
    assert tuivmm("bare", "--flawed-eret", str(source)).stdout == b"E\n"


def test_a_guest_stuck_in_a_trap_loop_is_stopped_with_a_one_line_error(tmp_path):
    source = tmp_path / "stuck.S"
    source.write_text("_start:\n    csrw mtvec, zero\n    unimp\n")  # handler at 0: nothing there
    result = tuivmm("bare", str(source))
    assert result.returncode == 4
    assert _one_line_error(result).startswith("tuivmm: the guest is stuck: every instruction traps (instruction access fault")


@pytest.mark.parametrize(
    ("content", "says"),
    [(b"", "0 bytes: too short"), (b"not a device tree, just words\n" * 3, "not a device tree blob"),
     (bytes.fromhex("d00dfeed") + (4096).to_bytes(4, "big") + bytes(40), "version 0")],
)
def test_bare_refuses_a_dtb_that_is_not_one_in_one_line_with_status_2(tmp_path, content, says):
    bad = tmp_path / "bad.dtb"
    bad.write_bytes(content)
    result = tuivmm("bare", "--dtb", str(bad), "hello")
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tuivmm: --dtb {bad}: ") and says in lines[0]


def test_bare_refuses_a_missing_dtb_file_and_append_beside_another_tree(tmp_path):
    result = tuivmm("bare", "--dtb", str(tmp_path / "none.dtb"), "hello")
    assert (result.returncode, result.stderr.decode()) == (2, f"tuivmm: --dtb {tmp_path / 'none.dtb'}: No such file or directory\n")
    result = tuivmm("bare", "--no-dtb", "--append", "quiet", "hello")
    assert result.returncode == 2 and b"--append" in result.stderr
    result = tuivmm("bare", "--no-dtb", "--dtb", "x", "hello")
    assert result.returncode == 2 and b"not allowed with argument" in result.stderr


def test_bare_dumps_the_tree_it_would_hand_the_image_and_runs_nothing(tmp_path):
    out = tmp_path / "board.dtb"
    result = tuivmm("bare", "--dumpdtb", str(out), "--ram", "16", "--append", "console=ttyS0", "hello")
    assert result.returncode == 0 and result.stdout == b""
    from machine.fdt import unpack

    tree = unpack(out.read_bytes())
    assert tree.find("/chosen").props["bootargs"] == b"console=ttyS0\0"
    assert tree.find("/memory@80000000").props["reg"][-4:] == (16 << 20).to_bytes(4, "big")
    # Handed back with --dtb, the same tree runs the image as the board's own does.
    assert tuivmm("bare", "--dtb", str(out), "hello").stdout == b"Hello from hello, a tuivmm guest!\n"
