"""`tuivmm run GUEST...`: guests on the monitor without the dashboard (the run
itself is headless.py's); --record/--replay, --save/--restore and --gdb set up here."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from tuivmm.cli.common import ASSEMBLY_SUFFIXES, UserError, assemble_file, file_name, named, terminated
from tuivmm.lineup.options import add_guest_options, guest_options
from tuivmm.lineup.spec import GuestSpec, apply_options


def add_parser(commands) -> None:
    run = commands.add_parser(
        "run",
        help="run guests on the virtual machine monitor, without the dashboard",
        description="Run one or more guests together on the virtual machine monitor (trap and emulate, "
        "shadow page tables) without the dashboard. Each guest's console goes to stdout, every line "
        "prefixed with `[name] ` (a second guest of the same name is name-2, ...); stdin goes to the "
        "first guest. Options that take [NAME=] apply to that guest only, or to every guest without "
        "NAME. Piped input ends the run when it is used up and every guest left waits for more. On a "
        "terminal the guests' clocks follow the wall clock; piped, time is virtual (the same input, the "
        "same run). Exit status: 0 when every guest powered off with success, or the input ended with "
        "every guest left waiting for more; otherwise the first failing guest's code, 4 when a guest "
        "crashed, 137 when a debugger killed one (gdb's kill), 124 when --max-insns ran out, 3 when every "
        "guest left sleeps with nothing that could wake it. On a terminal, Ctrl-A x quits (status 130).",
    )
    run.add_argument("guests", nargs="*", metavar="GUEST",
                     help="a packaged guest's name, an RV32 RISC-V ELF executable, or an assembly file "
                          "(none needed with --restore or --replay)")
    add_guest_options(run)  # --ram --disk --no-disk --no-net --max-insns --remedy --sbi --gdb --restore
    run.add_argument("--flawed-eret", action="store_true",
                     help="the lecture's flaw in the real hardware: SRET/MRET in U-mode run instead of trapping")
    run.add_argument("--trace-exits", metavar="FILE",
                     help="write every trap the VMM handles, one line each, to FILE ('-' = stderr)")
    run.add_argument("--pcap", metavar="FILE",
                     help="capture every Ethernet frame crossing the virtual switch into FILE (pcap format, "
                          "for tshark or Wireshark), stamped with the sending guest's virtual time")
    run.add_argument("--stats", action="store_true",
                     help="at the end, print per guest on stderr: instructions (direct and emulated), "
                          "exits by reason, hidden and true page faults, and eret-escape's verdict")
    run.add_argument("--save", action="append", default=[], type=named("FILE", file_name), metavar="[NAME=]FILE",
                     help="when the run ends (however it ends, but for a crash), write guest NAME's snapshot "
                          "to FILE (written aside, then renamed); NAME may be left out with one guest; repeatable")
    run.add_argument("--record", metavar="FILE",
                     help="write the session down in FILE: the guests, their images and starting disks, and "
                          "every piece of console input with the moment it reached the guest (written aside, "
                          "then renamed when the run ends)")
    run.add_argument("--replay", metavar="FILE",
                     help="play the session recorded in FILE again (its guests and settings; stdin is not "
                          "read): the same console output and the same traps; only --trace-exits, --stats "
                          "and --pcap may be given with it. Exit status 5 if the replay goes differently")
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)



def command(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from tuivmm.cli.headless import GuestPlan, HeadlessRun, RunError, Settings, save_targets
    from tuivmm.cli.terminal import StdinInput
    from tuivmm.disk.attach import DiskSetupError, disk_for
    from tuivmm.lineup.packaged import packaged_name

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
    # Every image is there (and assembled) before any disk is made.
    specs = [GuestSpec(image).resolve() for image in args.guests]
    restored = [GuestSpec(snap.path, snapshot=snap) for snap in snapshots]  # they come first
    apply_options(guest_options(args), restored + specs)
    for spec in specs:
        spec.check_fits()
    try:
        saves = save_targets(args.save, [spec.name for spec in restored + specs])
    except RunError as exc:
        raise UserError(str(exc)) from None

    with ExitStack() as stack:
        # Killed (SIGTERM): unwind, so throwaway disks are removed and the terminal restored.
        previous = signal.signal(signal.SIGTERM, terminated)
        stack.callback(signal.signal, signal.SIGTERM, previous)
        plans = [GuestPlan(spec.name, spec.snapshot.path, disk=spec.disk, gdb_port=spec.gdb_port,
                           snapshot=spec.snapshot) for spec in restored]  # fmt: skip
        for spec in restored:
            if spec.snapshot.header["disk"] is not None and spec.disk is None:
                print(f"tuivmm: {spec.name} gets a throwaway copy of the disk saved in {spec.snapshot.path} "
                      f"(use --disk {spec.name}=FILE to keep it)", file=sys.stderr, flush=True)  # fmt: skip
        for spec in specs:
            try:
                guest_disk = stack.enter_context(disk_for(spec.image, spec.disk, no_disk=spec.no_disk))
            except DiskSetupError as exc:
                raise UserError(str(exc)) from None
            if guest_disk.notice:
                notice = guest_disk.notice.replace("use --disk FILE", f"use --disk {spec.name}=FILE")
                package = packaged_name(spec.image)
                if package and package != spec.name:
                    notice = notice.replace(f"{package} has no --disk", f"{spec.name} has no --disk", 1)
                print(f"tuivmm: {notice}", file=sys.stderr, flush=True)
            plans.append(GuestPlan(spec.name, spec.path, spec.ram_mib, guest_disk.path, spec.remedy, spec.program,
                                   spec.gdb_port, sbi=spec.sbi))  # fmt: skip
        # A snapshot saved on hardware with the ERET flaw runs on the same hardware.
        flawed = args.flawed_eret or any(snap.flawed_eret for snap in snapshots)
        settings = Settings(max_insns=args.max_insns, flawed_eret=flawed, net=not args.no_net, save=saves,
                            trace_exits=args.trace_exits, stats=args.stats, pcap=args.pcap)  # fmt: skip
        recorder = None
        if args.record is not None:
            recorder = stack.enter_context(_recorder(args, plans, [spec.disk for spec in specs]))
        try:
            return HeadlessRun(plans, settings, stdin=StdinInput(), recorder=recorder).run()
        except RunError as exc:
            raise UserError(str(exc)) from None


def _recorder(args: argparse.Namespace, plans: list, files: list[str | None]):
    """--record FILE: a Recorder for these guests, their disks copied now, before they run."""
    from tuivmm.lineup.packaged import packaged_name
    from tuivmm.tools.record import (
        GuestSetup,
        Recorder,
        RecordError,
        SessionSetup,
        file_sha256,
    )

    guests = []
    for arg, plan, file in zip(args.guests, plans, files, strict=True):
        try:
            digest = file_sha256(plan.image)
        except OSError as exc:
            raise UserError(f"{plan.image}: {exc.strerror or exc}") from None
        kind = "none" if plan.disk is None else "file" if file is not None else "throwaway"
        guests.append(GuestSetup(plan.name, str(Path(plan.image).resolve()), packaged_name(arg), digest,
                                 plan.ram_mib, plan.remedy, kind, file, plan.sbi))  # fmt: skip
    setup = SessionSetup(guests, args.flawed_eret, not args.no_net, args.max_insns)
    try:
        return Recorder(args.record, setup, [plan.disk for plan in plans])
    except RecordError as exc:
        raise UserError(str(exc)) from None


def _run_replay(args: argparse.Namespace) -> int:
    """`tuivmm run --replay FILE`: the recorded session again, from its log alone."""
    import tempfile

    from tuivmm.cli.headless import GuestPlan, HeadlessRun, RunError, Settings
    from tuivmm.tools.record import RecordError, Recording, Replayer

    given = [option for option, value in (
        ("GUEST", args.guests), ("--ram", args.ram), ("--disk", args.disk), ("--no-disk", args.no_disk),
        ("--no-net", args.no_net), ("--max-insns", args.max_insns), ("--flawed-eret", args.flawed_eret),
        ("--remedy", args.remedy), ("--sbi", args.sbi), ("--gdb", args.gdb), ("--save", args.save), ("--restore", args.restore),
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
    previous = signal.signal(signal.SIGTERM, terminated)  # unwind, so the disk copies are removed
    try:
        with recording, tempfile.TemporaryDirectory(prefix="tuivmm-replay-") as scratch:
            try:
                disks = recording.write_disks(scratch)
            except RecordError as exc:
                raise UserError(str(exc)) from None
            plans = []
            for guest, disk in zip(setup.guests, disks, strict=True):
                image = guest.image_path()
                program = assemble_file(image) if image.endswith(ASSEMBLY_SUFFIXES) else None
                plans.append(GuestPlan(guest.name, image, guest.ram_mib, disk, guest.remedy, program, sbi=guest.sbi))
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
    from tuivmm.tools.snapshot import SnapshotError, read_snapshot

    try:
        return [read_snapshot(path) for path in paths]
    except SnapshotError as exc:
        raise UserError(str(exc)) from None
