"""`tuivmm bare IMAGE`: one image on the bare machine, the UART on this terminal."""

from __future__ import annotations

import argparse
import errno
import sys

from tuivmm.cli.common import UserError, image_path, load_image, positive_int
from tuivmm.lineup.options import ram_mib
from tuivmm.lineup.packaged import too_little_ram
from tuivmm.lineup.spec import DEFAULT_RAM_MIB, MAX_RAM_MIB


def add_parser(commands) -> None:
    bare = commands.add_parser(
        "bare",
        help="run one image on the bare machine",
        description="Run one RV32 ELF image on the bare machine (QEMU virt layout, RAM at "
        "0x80000000), entered in M-mode with a0 = 0 (the hart id) and, for an ELF image, a1 = the "
        "address of the board's device tree (see --dtb). HTIF is on only for an ELF whose tohost is "
        "in a .tohost section (riscv-tests), or an assembly file with a tohost label. The UART is this "
        "terminal; stdin is the guest's keyboard.",
    )
    bare.add_argument("image", metavar="IMAGE",
                      help="a packaged guest's name, an RV32 RISC-V ELF executable, "
                           "or an assembly file (.s/.S/.asm) to assemble and run")
    bare.add_argument("--ram", type=ram_mib, default=DEFAULT_RAM_MIB, metavar="MIB",
                      help=f"RAM size in MiB (default {DEFAULT_RAM_MIB}, at most {MAX_RAM_MIB})")
    disk = bare.add_mutually_exclusive_group()
    disk.add_argument("--disk", metavar="FILE",
                      help="raw disk image for the virtio block device; if FILE does not exist, a fresh "
                           "empty one is made there and kept: a 2 MiB unix disk (TUFS), or for linux an 8 MiB "
                           "ext2 disk (by mke2fs). Without --disk, a guest that wants a disk (unix, linux) gets "
                           "a fresh one that is thrown away at exit")  # fmt: skip
    disk.add_argument("--no-disk", action="store_true",
                      help="no disk at all, not even the throwaway one unix and linux get without --disk")  # fmt: skip
    bare.add_argument("--disk-ro", action="store_true", help="make the --disk FILE read-only (it must exist)")
    bare.add_argument("--max-insns", type=positive_int, metavar="N", help="stop after N instructions (exit 124)")
    bare.add_argument(
        "--flawed-eret",
        action="store_true",
        help="the lecture's flaw: SRET/MRET in U-mode run instead of trapping",
    )
    tree = bare.add_mutually_exclusive_group()
    tree.add_argument("--dtb", metavar="FILE",
                      help="hand the image this device tree blob (its address in a1) instead of the board's "
                           "own, which describes the machine as QEMU's virt does and sits where QEMU puts "
                           "its own: the highest 2 MiB boundary it fits below the end of RAM")  # fmt: skip
    tree.add_argument("--no-dtb", action="store_true", help="no device tree at all (a1 = 0)")
    tree.add_argument("--dumpdtb", metavar="FILE",
                      help="write the board's device tree for IMAGE (with this --ram, disk and --append) "
                           "to FILE and exit without running, like QEMU's -machine dumpdtb=FILE")  # fmt: skip
    bare.add_argument("--append", metavar="ARGS", default="",
                      help="bootargs for /chosen in the board's own device tree, like QEMU's -append")
    bare.add_argument(
        "--trace", metavar="FILE", help="write every instruction (count, mode, pc, bits, disassembly) to FILE ('-' = stderr)"
    )
    # Accepted after the command too; SUPPRESS keeps it from resetting the global flag.
    bare.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)



def command(args: argparse.Namespace) -> int:
    from tuivmm.disk.attach import DiskSetupError, disk_for

    image_path(args.image)  # a missing image is an error before any disk is made
    if why := too_little_ram(args.image, args.ram):
        raise UserError(why)
    if args.append and (args.dtb or args.no_dtb):
        raise UserError("--append goes into the board's own device tree: not with --dtb or --no-dtb")
    args.tree = _user_dtb(args.dtb) if args.dtb else not args.no_dtb
    try:
        guest_disk = disk_for(args.image, args.disk, read_only=args.disk_ro, no_disk=args.no_disk)
    except DiskSetupError as exc:
        raise UserError(str(exc)) from None
    with guest_disk:  # a throwaway disk is removed at the end, whatever happens
        if guest_disk.notice:
            print(f"tuivmm: {guest_disk.notice}", file=sys.stderr, flush=True)
        return _run_bare(args, guest_disk.path)


def _run_bare(args: argparse.Namespace, disk: str | None) -> int:
    from machine.board import Board
    from machine.runner import ConsoleRunner
    from tuivmm.cli.terminal import QuitRequested, StdinInput, StdoutConsole, TerminalText

    try:
        board = Board(args.ram * 1024 * 1024, disk=disk, disk_read_only=args.disk_ro,
                      flawed_eret=args.flawed_eret, dtb=args.tree, bootargs=args.append)  # fmt: skip
    except OSError as exc:
        if exc.errno == errno.ENOMEM:  # the host cannot give the machine its RAM
            raise UserError(f"--ram {args.ram}: the host cannot give the machine {args.ram} MiB of RAM "
                            f"({exc.strerror})") from None  # fmt: skip
        raise UserError(f"{exc.filename or disk}: {exc.strerror or exc}") from None
    trace_file = None
    try:
        if args.dumpdtb:
            return _dump_dtb(board, args.dumpdtb)
        load_image(board, args.image)
        if args.trace:
            # stderr's lines come while the terminal is raw: TerminalText ends them right.
            trace_file = TerminalText(sys.stderr) if args.trace == "-" else open(args.trace, "w")  # noqa: SIM115
            board.hart.stepping = True
            board.hart.tracer = _tracer(trace_file)
        stdin = StdinInput()
        console = StdoutConsole(stdin.interactive)
        board.on_output = console.write
        try:
            with stdin:
                runner = ConsoleRunner(board, stdin)
                runner.on_wait = console.flush
                outcome = runner.run(args.max_insns)
        except QuitRequested:
            console.flush()
            print("\ntuivmm: quit (Ctrl-A x)", file=sys.stderr)
            return 130
        finally:
            console.flush()
    finally:
        board.close()
        if trace_file is not None and args.trace != "-":
            trace_file.close()
    if outcome.kind == "budget":
        print(f"tuivmm: stopped after {outcome.instructions} instructions (--max-insns)", file=sys.stderr)
    elif outcome.kind == "input":
        print("tuivmm: the input has ended, and the guest waits for more; stopping", file=sys.stderr)
    elif outcome.kind == "idle":
        print("tuivmm: the guest is asleep with no timer armed and no input left; stopping", file=sys.stderr)
    elif outcome.kind == "stuck":
        from machine.cpu.csrs import cause_name

        hart = board.hart
        print(f"tuivmm: the guest is stuck: every instruction traps ({cause_name(outcome.code)}, "
              f"pc={hart.pc:#010x}, mtvec={hart.mtvec:#010x}); stopping", file=sys.stderr)  # fmt: skip
    elif outcome.kind == "fail":
        print(f"tuivmm: the guest reported failure (code {outcome.code})", file=sys.stderr)
    return outcome.exit_status



def _user_dtb(path: str) -> bytes:
    """The blob in `path`, if it is a device tree (UserError, one line, if not)."""
    from machine.fdt import FdtError, unpack

    try:
        with open(path, "rb") as file:
            blob = file.read()
    except OSError as exc:
        raise UserError(f"--dtb {path}: {exc.strerror or exc}") from None
    try:
        unpack(blob)
    except FdtError as exc:
        raise UserError(f"--dtb {path}: {exc}") from None
    return blob


def _dump_dtb(board, path: str) -> int:
    try:
        with open(path, "wb") as file:
            file.write(board.dtb)
    except OSError as exc:
        raise UserError(f"--dumpdtb {path}: {exc.strerror or exc}") from None
    print(f"tuivmm: device tree written to {path} ({len(board.dtb)} bytes)", file=sys.stderr)
    return 0


def _tracer(out):
    from machine.cpu.csrs import PRIV_NAMES
    from machine.cpu.disasm import disassemble

    def trace(hart, pc: int) -> None:
        word = hart.fetch_insn(pc)
        bits = f"{word:08x}" if word & 3 == 3 else f"{word:04x}    "
        out.write(f"{hart.icount:>10} {PRIV_NAMES[hart.priv]} {pc:08x}: {bits}  {disassemble(word, pc)}\n")

    return trace
