"""The `tuivmm` command line.

Errors a user can cause (a missing or broken image, a bad option) print one line on
stderr and exit non-zero; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tuivmm import __version__

EXIT_USAGE = 2
EXIT_INTERNAL = 70

DESCRIPTION = """\
tuivmm: a trap-and-emulate virtual machine monitor for a simulated RISC-V computer
(RV32IMA, Sv32, QEMU `virt` devices), with a terminal dashboard.

commands:
  guests        list the packaged guests (a guest's name works wherever an
                IMAGE is asked for)
  bare IMAGE    run one ELF image (or an assembly file, assembled by tuivmm's own
                assembler) on the bare machine; the UART is this terminal
                (stdin goes to the guest: `printf 'cmd\\n' | tuivmm bare IMAGE`);
                the exit status is the guest's (finisher or HTIF): 0 for pass or
                power-off, the guest's code for a failure, 124 when --max-insns
                ran out, 3 when the guest sleeps forever with no input left,
                4 when it is stuck trapping without retiring an instruction.
                On a terminal, Ctrl-A x quits.

The dashboard (plain `tuivmm`) and the VMM (`tuivmm run`) are not built yet.
"""


class UserError(Exception):
    """Something the user can fix; printed as one line."""


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuivmm", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"tuivmm {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    bare = commands.add_parser(
        "bare",
        help="run one image on the bare machine",
        description="Run one RV32 ELF image on the bare machine (QEMU virt layout, RAM at "
        "0x80000000). The UART is this terminal; stdin is the guest's keyboard.",
    )
    bare.add_argument("image", metavar="IMAGE",
                      help="a packaged guest's name, an RV32 RISC-V ELF executable, "
                           "or an assembly file (.s/.S/.asm) to assemble and run")
    bare.add_argument("--ram", type=_positive_int, default=128, metavar="MIB", help="RAM size in MiB (default 128)")
    disk = bare.add_mutually_exclusive_group()
    disk.add_argument("--disk", metavar="FILE",
                      help="raw disk image for the virtio block device; if FILE does not exist, a fresh "
                           "empty 2 MiB unix disk (TUFS) is made there and kept. Without --disk, a guest "
                           "that wants a disk (unix) gets a fresh one that is thrown away at exit")  # fmt: skip
    disk.add_argument("--no-disk", action="store_true",
                      help="no disk at all, not even the throwaway one unix gets without --disk")  # fmt: skip
    bare.add_argument("--disk-ro", action="store_true", help="make the --disk FILE read-only (it must exist)")
    bare.add_argument("--max-insns", type=_positive_int, metavar="N", help="stop after N instructions (exit 124)")
    bare.add_argument(
        "--flawed-eret",
        action="store_true",
        help="the lecture's flaw: SRET/MRET in U-mode run instead of trapping",
    )
    bare.add_argument(
        "--trace", metavar="FILE", help="write every instruction (count, mode, pc, bits, disassembly) to FILE ('-' = stderr)"
    )
    # Accepted after the command too; SUPPRESS keeps it from resetting the global flag.
    bare.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    guests = commands.add_parser("guests", help="list the packaged guests",
                                 description="List the packaged guests: name and what each is.")  # fmt: skip
    guests.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            print("tuivmm: the dashboard is not built yet; run an image with `tuivmm bare IMAGE` (see --help)",
                  file=sys.stderr)  # fmt: skip
            return 1
        if args.command == "bare":
            return cmd_bare(args)
        if args.command == "guests":
            return cmd_guests()
        parser.error(f"unknown command {args.command}")
    except UserError as exc:
        if args.debug:
            raise
        print(f"tuivmm: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug of ours: still one line, unless --debug
        if args.debug:
            raise
        print(f"tuivmm: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)  # fmt: skip
        return EXIT_INTERNAL
    return 0


def cmd_guests() -> int:
    from tuivmm.guests import packaged

    guests = packaged()
    width = max((len(g.name) for g in guests), default=0)
    for guest in guests:
        print(f"{guest.name:<{width}}  {guest.description}")
    return 0


def cmd_bare(args: argparse.Namespace) -> int:
    from tuivmm.disks import DiskSetupError, disk_for

    _image_path(args.image)  # a missing image is an error before any disk is made
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
    from tuivmm.terminal import QuitRequested, StdinInput, StdoutConsole

    try:
        board = Board(args.ram * 1024 * 1024, disk=disk, disk_read_only=args.disk_ro,
                      flawed_eret=args.flawed_eret)  # fmt: skip
    except OSError as exc:
        raise UserError(f"{disk}: {exc.strerror or exc}") from None
    trace_file = None
    try:
        _load_image(board, args.image)
        if args.trace:
            trace_file = sys.stderr if args.trace == "-" else open(args.trace, "w")  # noqa: SIM115
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
        if trace_file not in (None, sys.stderr):
            trace_file.close()
    if outcome.kind == "budget":
        print(f"tuivmm: stopped after {outcome.instructions} instructions (--max-insns)", file=sys.stderr)
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


ASSEMBLY_SUFFIXES = (".s", ".S", ".asm")


def _load_image(board, image: str) -> None:
    """An ELF file, or an assembly source that our own assembler turns into a RAM image
    at 0x80000000 (entry: `_start`, else the first instruction; HTIF if it defines
    `tohost`)."""
    from machine.cpu.asm import AsmError, assemble
    from machine.loader import LoadError

    image = _image_path(image)
    if image.endswith(ASSEMBLY_SUFFIXES):
        try:
            source = Path(image).read_text()
        except OSError as exc:
            raise UserError(f"{image}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise UserError(f"{image}: not a text file") from None
        try:
            program = assemble(source)
        except AsmError as exc:
            raise UserError(f"{image}: {exc}") from None
        if len(program.data) > board.ram.size:
            raise UserError(f"{image}: the program ({len(program.data)} bytes) does not fit in RAM")
        board.load_program(program.data, program.entry)
        if "tohost" in program.symbols:
            board.attach_htif(program.symbols["tohost"], program.symbols.get("fromhost"))
        return
    try:
        board.load(image)
    except LoadError as exc:
        raise UserError(str(exc)) from None


def _image_path(image: str) -> str:
    """The path an IMAGE argument names (a packaged guest's name resolved); UserError if none."""
    from tuivmm.guests import resolve

    path = resolve(image)
    if not Path(path).exists():
        raise UserError(f"{path}: no such file or packaged guest (`tuivmm guests` lists them)")
    return path


def _tracer(out):
    from machine.cpu.csrs import PRIV_NAMES
    from machine.cpu.disasm import disassemble

    def trace(hart, pc: int) -> None:
        word = hart.ram.words[hart.fetch_offset(pc) >> 2]
        out.write(f"{hart.icount:>10} {PRIV_NAMES[hart.priv]} {pc:08x}: {word:08x}  {disassemble(word, pc)}\n")

    return trace
