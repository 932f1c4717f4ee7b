"""The `tuivmm` command line.

Errors a user can cause (a missing or broken image, a bad option) print one line on
stderr and exit non-zero; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import signal
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
  run GUEST...  run guests (packaged names or ELF images) together on the virtual
                machine monitor, without the dashboard: each guest's console on
                stdout, every line prefixed `[name] `; stdin goes to the first
                guest (`printf 'echo hi\\nshutdown\\n' | tuivmm run unix hello`).
                Exit status 0 when every guest powered off with success; else the
                first failing guest's code, 4 when a guest crashed, 124 when
                --max-insns ran out, 3 when the guests sleep forever with no input.
                The tools: --gdb PORT (a guest for gdb), --save/--restore FILE
                (snapshots), --record/--replay FILE, --pcap FILE (the virtual
                Ethernet); `tuivmm run --help` has them all.
  disk COMMAND IMAGE ...
                make and change unix disk images from the host: create, ls,
                check, cat, put (copy a host file in), get (copy one out), rm.
  dash [GUEST...]
                the dashboard: the guests (or --config FILE's lineup, or with
                neither, the default lineup) running together, each guest's
                console, memory map and trap log; F1 there explains it. Plain
                `tuivmm` is `tuivmm dash` with the default lineup: two unix
                machines on the virtual switch, basic, and eret-escape.
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

    _add_run_parser(commands)
    _add_dash_parser(commands)

    guests = commands.add_parser("guests", help="list the packaged guests",
                                 description="List the packaged guests: name and what each is.")  # fmt: skip
    guests.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    from tuivmm.diskfs_cli import add_commands

    disk = commands.add_parser(
        "disk", help="make and change unix disk images from the host",
        description="Make, list and change disk images in the unix guest's file system (TUFS), before or "
        "after a guest uses them. Every change writes the whole image beside it and renames it into place, "
        "so an image is never half-written. Do not change an image a running guest has open.",
    )  # fmt: skip
    disk.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    add_commands(disk.add_subparsers(dest="disk_command", required=True, metavar="COMMAND"))
    return parser


def _named(kind: str, convert=str, *, need_name: bool = False):
    """An argparse type for `[NAME=]VALUE`: (NAME or None, VALUE converted)."""

    def parse(text: str) -> tuple[str | None, object]:
        name, sep, value = text.partition("=")
        if not sep:
            if need_name:
                raise argparse.ArgumentTypeError(f"expected NAME={kind}, got {text!r}")
            name, value = None, text
        elif not name:
            raise argparse.ArgumentTypeError(f"no guest NAME before '=' in {text!r}")
        return name, convert(value)

    return parse


def _remedy(text: str) -> str:
    from tuivmm.vmm.monitor import REMEDIES

    if text not in REMEDIES:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(REMEDIES)})")
    return text


def _port(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return port


def _disk_file(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("an empty FILE")
    return text


def _add_run_parser(commands) -> None:
    run = commands.add_parser(
        "run",
        help="run guests on the virtual machine monitor, without the dashboard",
        description="Run one or more guests together on the virtual machine monitor (trap and emulate, "
        "shadow page tables) without the dashboard. Each guest's console goes to stdout, every line "
        "prefixed with `[name] ` (a second guest of the same name is name-2, ...); stdin goes to the "
        "first guest. Options that take [NAME=] apply to that guest only, or to every guest without "
        "NAME. Exit status: 0 when every guest powered off with success; otherwise the first failing "
        "guest's code, 4 when a guest crashed, 124 when --max-insns ran out, 3 when every guest left "
        "sleeps forever and there is no more input. On a terminal, Ctrl-A x quits.",
    )
    run.add_argument("guests", nargs="*", metavar="GUEST",
                     help="a packaged guest's name, an RV32 RISC-V ELF executable, or an assembly file "
                          "(none needed with --restore or --replay)")
    run.add_argument("--ram", action="append", default=[], type=_named("MIB", _positive_int),
                     metavar="[NAME=]MIB", help="guest RAM in MiB (default 128); repeatable")
    disk = run.add_mutually_exclusive_group()
    disk.add_argument("--disk", action="append", default=[], type=_named("FILE", _disk_file),
                      metavar="NAME=FILE",
                      help="FILE is guest NAME's virtio disk (made fresh if it does not exist; NAME may be "
                           "left out when there is one guest); repeatable. A unix guest without --disk "
                           "gets a fresh empty disk that is thrown away at exit")
    disk.add_argument("--no-disk", action="store_true",
                      help="no disks at all, not even the throwaway ones unix guests get without --disk")
    run.add_argument("--no-net", action="store_true",
                     help="no network cards (as on `tuivmm bare`); by default every guest has one on "
                          "the VMM's virtual switch, MAC 52:54:00:00:00:N for the N-th guest")
    run.add_argument("--max-insns", type=_positive_int, metavar="N",
                     help="stop a guest once it has run N instructions (exit 124)")
    run.add_argument("--flawed-eret", action="store_true",
                     help="the lecture's flaw in the real hardware: SRET/MRET in U-mode run instead of trapping")
    run.add_argument("--remedy", action="append", default=[], type=_named("REMEDY", _remedy),
                     metavar="[NAME=]{none,bt,pv,hw}",
                     help="how the VMM copes with --flawed-eret: none (the naive VMM), bt (binary "
                          "translation), pv (hypercalls, for guests built for them), hw (the hardware "
                          "assist); repeatable")
    run.add_argument("--trace-exits", metavar="FILE",
                     help="write every trap the VMM handles, one line each, to FILE ('-' = stderr)")
    run.add_argument("--pcap", metavar="FILE",
                     help="capture every Ethernet frame crossing the virtual switch into FILE (pcap format, "
                          "for tshark or Wireshark), stamped with the sending guest's virtual time")
    run.add_argument("--stats", action="store_true",
                     help="at the end, print per guest on stderr: instructions (direct and emulated), "
                          "exits by reason, hidden and true page faults")
    run.add_argument("--gdb", action="append", default=[], type=_named("PORT", _port), metavar="[NAME=]PORT",
                     help="serve a GDB remote stub for guest NAME (without NAME: the first guest) on "
                          "127.0.0.1:PORT (0: a free port, printed on stderr); the guest waits at its first "
                          "instruction until gdb continues it; repeatable")
    run.add_argument("--save", action="append", default=[], type=_named("FILE", _disk_file), metavar="[NAME=]FILE",
                     help="when the run ends (however it ends, but for a crash), write guest NAME's snapshot "
                          "to FILE (written aside, then renamed); NAME may be left out with one guest; repeatable")
    run.add_argument("--restore", action="append", default=[], metavar="FILE",
                     help="start a guest from the snapshot in FILE, before the GUESTs (a --disk NAME=FILE for "
                          "it gets its saved disk, else a throwaway copy); repeatable")
    run.add_argument("--record", metavar="FILE",
                     help="write the session down in FILE: the guests, their images and starting disks, and "
                          "every piece of console input with the moment it reached the guest (written aside, "
                          "then renamed when the run ends)")
    run.add_argument("--replay", metavar="FILE",
                     help="play the session recorded in FILE again (its guests and settings; stdin is not "
                          "read): the same console output and the same traps; only --trace-exits, --stats "
                          "and --pcap may be given with it. Exit status 5 if the replay goes differently")
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _add_dash_parser(commands) -> None:
    dash = commands.add_parser(
        "dash",
        help="the dashboard, with these guests",
        description="Start the dashboard with these guests (packaged names or RV32 ELF images), or with the "
        "lineup in a TOML file (--config), or with neither, the default lineup. A guest that cannot be "
        "loaded is a one-line error; the others start. In the dashboard F1 shows the keys, F12 quits.",
    )
    dash.add_argument("guests", nargs="*", metavar="GUEST",
                      help="a packaged guest's name or an RV32 RISC-V ELF executable")
    dash.add_argument("--config", metavar="FILE",
                      help="a TOML lineup: [[guest]] tables (image, name, ram_mib, disk, remedy, net) and "
                           "flawed_eret; GUESTs given too are added after its guests")
    dash.add_argument("--flawed-eret", action="store_true",
                      help="the lecture's flaw in the real hardware: SRET/MRET in U-mode run instead of trapping")
    dash.add_argument("--pcap", metavar="FILE",
                      help="capture every Ethernet frame crossing the virtual switch into FILE (pcap format), "
                           "written when the dashboard quits")
    dash.add_argument("--remedy", type=_remedy, metavar="{none,bt,pv,hw}",
                      help="how the VMM copes with --flawed-eret, for the GUESTs given here (default none)")
    dash.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in (None, "dash"):
            return cmd_dash(args)
        if args.command == "bare":
            return cmd_bare(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "guests":
            return cmd_guests()
        if args.command == "disk":
            return cmd_disk(args)
        parser.error(f"unknown command {args.command}")
    except UserError as exc:
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
    from tuivmm.diskfs import DiskError
    from tuivmm.diskfs_cli import run

    try:
        return run(args)
    except DiskError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)) from None


def cmd_guests() -> int:
    from tuivmm.guests import packaged

    guests = packaged()
    width = max((len(g.name) for g in guests), default=0)
    for guest in guests:
        print(f"{guest.name:<{width}}  {guest.description}")
    return 0


def cmd_dash(args: argparse.Namespace) -> int:
    """The dashboard.  Guests that cannot be loaded are one line each on stderr (and a
    toast in the dashboard); the others start.  None at all: status 2."""
    from tuivmm.ui.lineup import Lineup, LineupError, default_lineup, lineup_from_names, load_lineup

    config, images = getattr(args, "config", None), getattr(args, "guests", [])
    remedy = getattr(args, "remedy", None) or "none"
    try:
        lineup = load_lineup(config) if config else Lineup()
    except LineupError as exc:
        raise UserError(str(exc)) from None
    lineup.guests += lineup_from_names(images, remedy=remedy).guests
    if not lineup.guests:
        lineup.guests = default_lineup().guests
    lineup.flawed_eret = lineup.flawed_eret or getattr(args, "flawed_eret", False)

    from tuivmm.ui.app import TuivmmApp
    from tuivmm.ui.session import Session

    from tuivmm.vmm.pcap import PcapError

    try:
        session = Session(lineup, pcap=getattr(args, "pcap", None))
    except PcapError as exc:
        raise UserError(str(exc)) from None
    # Killed (SIGTERM), or its terminal closed (SIGHUP): unwind, so the throwaway
    # disks are removed and the terminal restored.
    previous = {sig: signal.signal(sig, _terminated) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        for error in session.errors:
            print(f"tuivmm: {error}", file=sys.stderr, flush=True)
        if not session.guests:
            return EXIT_USAGE
        TuivmmApp(session).run()
    finally:
        shown = len(session.errors)
        session.close()
        for error in session.errors[shown:]:
            print(f"tuivmm: {error}", file=sys.stderr, flush=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
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


def cmd_run(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from tuivmm.disks import DiskSetupError, disk_for
    from tuivmm.guests import packaged_name
    from tuivmm.headless import (
        GuestPlan,
        HeadlessRun,
        RunError,
        Settings,
        guest_names,
        not_restored,
        per_guest,
        restored_disks,
        save_targets,
    )
    from tuivmm.terminal import StdinInput

    if args.pcap is not None and args.no_net:
        raise UserError("--pcap captures the virtual switch, and --no-net leaves the guests off it")
    if args.replay is not None:
        return _run_replay(args)
    if args.record is not None and (args.gdb or args.restore):
        raise UserError(f"--record cannot be used with {'--gdb' if args.gdb else '--restore'}: the log "
                        "can replay only guests started from their images and run without a debugger")
    snapshots = _read_snapshots(args.restore)
    if not args.guests and not snapshots:
        raise UserError("run: no GUEST given (name one, or --restore FILE)")
    images = [_image_path(image) for image in args.guests]  # every image exists before any disk is made
    bases = [Path(image).stem for image in images]
    names = guest_names([snap.name for snap in snapshots] + bases)  # restored guests come first
    restored, names = names[: len(snapshots)], names[len(snapshots) :]
    try:
        restore_disks, args.disk = restored_disks(args.disk, restored, len(names))
        not_restored("--ram", args.ram, restored)
        not_restored("--remedy", args.remedy, restored)
        saves = save_targets(args.save, restored + names)
        rams = per_guest("--ram", args.ram, names, bases, 128)
        remedies = per_guest("--remedy", args.remedy, names, bases, "none")
        disk_values = [(name, file) for name, file in args.disk]
        if len(names) == 1:  # one guest: --disk FILE needs no NAME (nor does a FILE with '=' in it)
            disk_values = [(None, file if name is None or name in (names[0], bases[0]) else f"{name}={file}")
                           for name, file in args.disk]  # fmt: skip
        elif any(name is None for name, _ in disk_values):
            raise RunError("--disk needs NAME=FILE when there is more than one guest")
        files = per_guest("--disk", disk_values, names, bases, None)
        # A PORT without NAME is the first guest's: one port cannot serve every guest.
        if args.gdb and not names:
            raise RunError("--gdb debugs a GUEST started from its image, and there is none (only --restore)")
        ports = per_guest("--gdb", [(name or names[0], port) for name, port in args.gdb], names, bases, None)
    except RunError as exc:
        raise UserError(str(exc)) from None
    taken = [port for port in ports if port]
    if len(taken) != len(set(taken)):
        raise UserError("--gdb: each guest needs a port of its own")
    seen: dict[Path, str] = {}
    for name, file in zip(restored + names, [restore_disks.get(n) for n in restored] + files, strict=True):
        if file is None:
            continue
        key = Path(file).resolve()
        if key in seen:
            raise UserError(f"{file}: one disk cannot be both {seen[key]}'s and {name}'s")
        seen[key] = name

    programs = [_assemble(image) if image.endswith(ASSEMBLY_SUFFIXES) else None for image in images]
    with ExitStack() as stack:
        # Killed (SIGTERM): unwind, so throwaway disks are removed and the terminal restored.
        previous = signal.signal(signal.SIGTERM, _terminated)
        stack.callback(signal.signal, signal.SIGTERM, previous)
        plans = [GuestPlan(name, snap.path, disk=restore_disks.get(name), snapshot=snap)
                 for name, snap in zip(restored, snapshots, strict=True)]  # fmt: skip
        for name, snap in zip(restored, snapshots, strict=True):
            if snap.header["disk"] is not None and name not in restore_disks:
                print(f"tuivmm: {name} gets a throwaway copy of the disk saved in {snap.path} "
                      f"(use --disk {name}=FILE to keep it)", file=sys.stderr, flush=True)  # fmt: skip
        for i, (arg, image, name) in enumerate(zip(args.guests, images, names, strict=True)):
            try:
                guest_disk = stack.enter_context(disk_for(arg, files[i], no_disk=args.no_disk))
            except DiskSetupError as exc:
                raise UserError(str(exc)) from None
            if guest_disk.notice:
                notice = guest_disk.notice.replace("use --disk FILE", f"use --disk {name}=FILE")
                package = packaged_name(arg)
                if package and package != name:
                    notice = notice.replace(f"{package} has no --disk", f"{name} has no --disk", 1)
                print(f"tuivmm: {notice}", file=sys.stderr, flush=True)
            plans.append(GuestPlan(name, image, rams[i], guest_disk.path, remedies[i], programs[i], ports[i]))
        # A snapshot saved on hardware with the ERET flaw runs on the same hardware.
        flawed = args.flawed_eret or any(snap.flawed_eret for snap in snapshots)
        settings = Settings(max_insns=args.max_insns, flawed_eret=flawed, net=not args.no_net, save=saves,
                            trace_exits=args.trace_exits, stats=args.stats, pcap=args.pcap)  # fmt: skip
        recorder = None
        if args.record is not None:
            recorder = stack.enter_context(_recorder(args, plans, files))
        try:
            return HeadlessRun(plans, settings, stdin=StdinInput(), recorder=recorder).run()
        except RunError as exc:
            raise UserError(str(exc)) from None


def _recorder(args: argparse.Namespace, plans: list, files: list[str | None]):
    """--record FILE: a Recorder for these guests, their disks copied now, before they run."""
    from tuivmm.guests import packaged_name
    from tuivmm.vmm.record import GuestSetup, RecordError, Recorder, SessionSetup, file_sha256

    guests = []
    for arg, plan, file in zip(args.guests, plans, files, strict=True):
        try:
            digest = file_sha256(plan.image)
        except OSError as exc:
            raise UserError(f"{plan.image}: {exc.strerror or exc}") from None
        kind = "none" if plan.disk is None else "file" if file is not None else "throwaway"
        guests.append(GuestSetup(plan.name, str(Path(plan.image).resolve()), packaged_name(arg), digest,
                                 plan.ram_mib, plan.remedy, kind, file))  # fmt: skip
    setup = SessionSetup(guests, args.flawed_eret, not args.no_net, args.max_insns)
    try:
        return Recorder(args.record, setup, [plan.disk for plan in plans])
    except RecordError as exc:
        raise UserError(str(exc)) from None


def _run_replay(args: argparse.Namespace) -> int:
    """`tuivmm run --replay FILE`: the recorded session again, from its log alone."""
    import tempfile

    from tuivmm.headless import GuestPlan, HeadlessRun, RunError, Settings
    from tuivmm.vmm.record import RecordError, Recording, Replayer

    given = [option for option, value in (
        ("GUEST", args.guests), ("--ram", args.ram), ("--disk", args.disk), ("--no-disk", args.no_disk),
        ("--no-net", args.no_net), ("--max-insns", args.max_insns), ("--flawed-eret", args.flawed_eret),
        ("--remedy", args.remedy), ("--gdb", args.gdb), ("--save", args.save), ("--restore", args.restore),
        ("--record", args.record)) if value]  # fmt: skip
    if given:
        raise UserError(f"--replay takes the guests and their settings from its log; {given[0]} cannot be "
                        "given with it")  # fmt: skip
    try:
        recording = Recording.load(args.replay)
        recording.check_images()
    except RecordError as exc:
        raise UserError(str(exc)) from None
    setup = recording.setup
    if args.pcap is not None and not setup.net:
        raise UserError("--pcap captures the virtual switch, and the recorded guests had no network cards")
    previous = signal.signal(signal.SIGTERM, _terminated)  # unwind, so the disk copies are removed
    try:
        with recording, tempfile.TemporaryDirectory(prefix="tuivmm-replay-") as scratch:
            try:
                disks = recording.write_disks(scratch)
            except RecordError as exc:
                raise UserError(str(exc)) from None
            plans = []
            for guest, disk in zip(setup.guests, disks, strict=True):
                image = guest.image_path()
                program = _assemble(image) if image.endswith(ASSEMBLY_SUFFIXES) else None
                plans.append(GuestPlan(guest.name, image, guest.ram_mib, disk, guest.remedy, program))
            settings = Settings(max_insns=setup.max_insns, flawed_eret=setup.flawed_eret, net=setup.net,
                                trace_exits=args.trace_exits, stats=args.stats, pcap=args.pcap)  # fmt: skip
            try:
                return HeadlessRun(plans, settings, stdin=None, replayer=Replayer(recording)).run()
            except RunError as exc:
                raise UserError(str(exc)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _read_snapshots(paths: list[str]) -> list:
    """Every --restore FILE, read and checked before anything runs; UserError for the first bad one."""
    from tuivmm.vmm.snapshot import SnapshotError, read_snapshot

    try:
        return [read_snapshot(path) for path in paths]
    except SnapshotError as exc:
        raise UserError(str(exc)) from None


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


ASSEMBLY_SUFFIXES = (".s", ".S", ".asm")


def _assemble(image: str):
    """Our own assembler's Program for an assembly file; UserError says what is wrong."""
    from machine.cpu.asm import AsmError, assemble

    try:
        source = Path(image).read_text()
    except OSError as exc:
        raise UserError(f"{image}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{image}: not a text file") from None
    try:
        return assemble(source)
    except AsmError as exc:
        raise UserError(f"{image}: {exc}") from None


def _load_image(board, image: str) -> None:
    """An ELF file, or an assembly source that our own assembler turns into a RAM image
    at 0x80000000 (entry: `_start`, else the first instruction; HTIF if it defines
    `tohost`)."""
    from machine.loader import LoadError

    image = _image_path(image)
    if image.endswith(ASSEMBLY_SUFFIXES):
        program = _assemble(image)
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
