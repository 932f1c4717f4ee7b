"""`tuivmm run GUEST...`: guests on the monitor without the dashboard (the run
itself is headless.py's); --record/--replay, --save/--restore and --gdb set up here."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from tuivmm.cli.common import (
    ASSEMBLY_SUFFIXES,
    UserError,
    assemble_file,
    check_ram,
    file_name,
    image_path,
    named,
    positive_int,
    remedy_choice,
    tcp_port,
    terminated,
)
from tuivmm.lineup import MAX_RAM_MIB


def add_parser(commands) -> None:
    run = commands.add_parser(
        "run",
        help="run guests on the virtual machine monitor, without the dashboard",
        description="Run one or more guests together on the virtual machine monitor (trap and emulate, "
        "shadow page tables) without the dashboard. Each guest's console goes to stdout, every line "
        "prefixed with `[name] ` (a second guest of the same name is name-2, ...); stdin goes to the "
        "first guest. Options that take [NAME=] apply to that guest only, or to every guest without "
        "NAME. Exit status: 0 when every guest powered off with success; otherwise the first failing "
        "guest's code, 4 when a guest crashed, 137 when a debugger killed one (gdb's kill), 124 when "
        "--max-insns ran out, 3 when every guest left sleeps forever and there is no more input. On a "
        "terminal, Ctrl-A x quits (status 130).",
    )
    run.add_argument("guests", nargs="*", metavar="GUEST",
                     help="a packaged guest's name, an RV32 RISC-V ELF executable, or an assembly file "
                          "(none needed with --restore or --replay)")
    run.add_argument("--ram", action="append", default=[], type=named("MIB", positive_int),
                     metavar="[NAME=]MIB", help=f"guest RAM in MiB (default 128, at most {MAX_RAM_MIB}); repeatable")
    disk = run.add_mutually_exclusive_group()
    disk.add_argument("--disk", action="append", default=[], type=named("FILE", file_name),
                      metavar="NAME=FILE",
                      help="FILE is guest NAME's virtio disk (made fresh if it does not exist; NAME may be "
                           "left out when there is one guest); repeatable. A unix guest without --disk "
                           "gets a fresh empty disk that is thrown away at exit")
    disk.add_argument("--no-disk", action="store_true",
                      help="no disks at all, not even the throwaway ones unix guests get without --disk")
    run.add_argument("--no-net", action="store_true",
                     help="no network cards (as on `tuivmm bare`); by default every guest has one on "
                          "the VMM's virtual switch, MAC 52:54:00:00:00:N for the N-th guest")
    run.add_argument("--max-insns", type=positive_int, metavar="N",
                     help="stop a guest once it has run N instructions (exit 124)")
    run.add_argument("--flawed-eret", action="store_true",
                     help="the lecture's flaw in the real hardware: SRET/MRET in U-mode run instead of trapping")
    run.add_argument("--remedy", action="append", default=[], type=named("REMEDY", remedy_choice),
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
    run.add_argument("--gdb", action="append", default=[], type=named("PORT", tcp_port), metavar="[NAME=]PORT",
                     help="serve a GDB remote stub for guest NAME (without NAME: the first guest) on "
                          "127.0.0.1:PORT (0: a free port, printed on stderr); the guest waits at its first "
                          "instruction until gdb continues it; repeatable")
    run.add_argument("--save", action="append", default=[], type=named("FILE", file_name), metavar="[NAME=]FILE",
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



def command(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from tuivmm.cli.headless import (
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
    for name, mib in args.ram:
        check_ram(f"--ram {mib}" if name is None else f"--ram {name}={mib}", mib)
    snapshots = _read_snapshots(args.restore)
    if not args.guests and not snapshots:
        raise UserError("run: no GUEST given (name one, or --restore FILE)")
    images = [image_path(image) for image in args.guests]  # every image exists before any disk is made
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

    programs = [assemble_file(image) if image.endswith(ASSEMBLY_SUFFIXES) else None for image in images]
    with ExitStack() as stack:
        # Killed (SIGTERM): unwind, so throwaway disks are removed and the terminal restored.
        previous = signal.signal(signal.SIGTERM, terminated)
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
                                 plan.ram_mib, plan.remedy, kind, file))  # fmt: skip
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
    from tuivmm.tools.snapshot import SnapshotError, read_snapshot

    try:
        return [read_snapshot(path) for path in paths]
    except SnapshotError as exc:
        raise UserError(str(exc)) from None
