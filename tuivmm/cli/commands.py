"""The `tuivmm` command line.

Errors a user can cause (a missing or broken image, a bad option) print one line on
stderr and exit non-zero; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys

from tuivmm import __version__
from tuivmm.cli import bare, dash, run, serve
from tuivmm.cli.common import EXIT_INTERNAL, EXIT_USAGE, SpecError, UserError

DESCRIPTION = """\
tuivmm: a trap-and-emulate virtual machine monitor for a simulated RISC-V computer
(RV32IMAC, Sv32, QEMU `virt` devices), with a terminal dashboard.

commands:
  guests        list the packaged guests (a guest's name works wherever an
                IMAGE is asked for)
  bare IMAGE    run one ELF image (or an assembly file, assembled by tuivmm's own
                assembler) on the bare machine; the UART is this terminal
                (stdin goes to the guest: `printf 'cmd\\n' | tuivmm bare IMAGE`);
                the exit status is the guest's (finisher or HTIF): 0 for pass or
                power-off (or the input used up, the guest waiting for more),
                the guest's code for a failure, 124 when --max-insns ran out,
                3 when the guest sleeps with nothing that could wake it, 4 when
                it is stuck trapping without retiring an instruction.
                On a terminal, Ctrl-A x quits.
  run GUEST...  run guests (packaged names, ELF images or assembly files)
                together on the virtual machine monitor, without the dashboard:
                each guest's console on stdout, every line prefixed `[name] `;
                stdin goes to the first guest
                (`printf 'echo hi\\nshutdown\\n' | tuivmm run unix hello`).
                Piped input ends the run once it is used up and every guest
                waits for more (exit status 0, as when every guest powered off
                with success); else the first failing guest's code, 4 when a
                guest crashed, 137 when gdb killed one, 124 when --max-insns ran
                out, 3 when the guests sleep with nothing that could wake them.
                The tools: --gdb PORT (a guest for gdb), --save/--restore FILE
                (snapshots), --record/--replay FILE, --pcap FILE (the virtual
                Ethernet); --sbi vmm: the VMM answers linux's SBI calls, no
                firmware runs; `tuivmm run --help` has them all.
  disk COMMAND IMAGE ...
                make and change unix disk images from the host: create, ls,
                check, cat, put (copy a host file in), get (copy one out), rm.
  dash [GUEST...]
                the dashboard: the guests (or --config FILE's lineup, or with
                neither, the default lineup) running together, each guest's
                console, memory map and trap log; F1 there explains it. It
                takes run's per-guest options (--ram, --disk, --no-disk,
                --no-net, --max-insns, --remedy, --sbi, --gdb, --restore). Plain
                `tuivmm` is `tuivmm dash` with the default lineup: two unix
                machines on the virtual switch, basic, and eret-escape.
  serve [--port N] [GUEST...]
                the dashboard in a web browser (textual-serve): prints the
                address to open, http://127.0.0.1:8000 by default, on this
                machine only; each browser gets a dashboard of its own with
                these guests (dash's GUESTs and options). Ctrl-C stops it.
"""



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuivmm", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"tuivmm {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    bare.add_parser(commands)
    run.add_parser(commands)
    dash.add_parser(commands)
    serve.add_parser(commands)

    guests = commands.add_parser("guests", help="list the packaged guests",
                                 description="List the packaged guests: name and what each is.")  # fmt: skip
    guests.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    from tuivmm.disk.tool import add_commands

    disk = commands.add_parser(
        "disk", help="make and change unix disk images from the host",
        description="Make, list and change disk images in the unix guest's file system (TUFS), before or "
        "after a guest uses them. Every change writes the whole image beside it and renames it into place, "
        "so an image is never half-written. Do not change an image a running guest has open.",
    )  # fmt: skip
    disk.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    add_commands(disk.add_subparsers(dest="disk_command", required=True, metavar="COMMAND"))
    return parser



def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.command is None:  # plain `tuivmm`: the dashboard, with dash's defaults
        args = parser.parse_args([*argv, "dash"])
    try:
        if args.command == "dash":
            return dash.command(args)
        if args.command == "serve":
            return serve.command(args, argv)
        if args.command == "bare":
            return bare.command(args)
        if args.command == "run":
            return run.command(args)
        if args.command == "guests":
            return cmd_guests()
        if args.command == "disk":
            return cmd_disk(args)
        parser.error(f"unknown command {args.command}")
    except (UserError, SpecError) as exc:
        if args.debug:
            raise
        print(f"tuivmm: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("\ntuivmm: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: still one line, unless --debug
        if args.debug:
            raise
        print(f"tuivmm: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)  # fmt: skip
        return EXIT_INTERNAL
    return 0



def cmd_disk(args: argparse.Namespace) -> int:
    from tuivmm.disk.tool import run as run_tool
    from tuivmm.disk.tufs import DiskError

    try:
        return run_tool(args)
    except DiskError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)) from None


def cmd_guests() -> int:
    from tuivmm.lineup.packaged import packaged

    guests = packaged()
    width = max((len(g.name) for g in guests), default=0)
    for guest in guests:
        print(f"{guest.name:<{width}}  {guest.description}")
    return 0
