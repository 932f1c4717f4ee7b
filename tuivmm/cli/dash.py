"""`tuivmm dash [GUEST...]` (and plain `tuivmm`): the dashboard."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from tuivmm.cli.common import EXIT_USAGE, UserError, terminated
from tuivmm.lineup.options import LINE_SYNTAX, add_guest_options, guest_options

SERVED_BY = "TUIVMM_SERVED_BY"  # the environment variable `tuivmm serve` gives its dashboards: its pid


def add_parser(commands) -> None:
    dash = commands.add_parser(
        "dash",
        help="the dashboard, with these guests",
        description="Start the dashboard with these guests (packaged names, RV32 ELF images or assembly "
        "files), or with the lineup in a TOML file (--config), or with neither, the default lineup. "
        "Options that take [NAME=] apply to that guest only (a GUEST, a restored guest or one of the "
        "lineup's), or without NAME to every GUEST given here (with neither GUESTs nor --config, to the "
        "default lineup's guests); a lineup's guests keep what its file says unless an option names them. "
        "They mean what they mean for `tuivmm run`. A guest that cannot be loaded is a one-line error; "
        f"the others start. In the dashboard F1 shows the keys, F9 adds a guest ({LINE_SYNTAX}), "
        "F12 quits.",
    )
    add_arguments(dash)
    dash.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The GUESTs and options that say which guests the dashboard runs: dash's, and
    serve's, which passes them on to the dashboard it starts for each browser."""
    parser.add_argument("guests", nargs="*", metavar="GUEST",
                        help="a packaged guest's name, an RV32 RISC-V ELF executable, or an assembly file")
    parser.add_argument("--config", metavar="FILE",
                        help="a TOML lineup: [[guest]] tables (image, name, ram_mib, disk, remedy, sbi, net, "
                             "max_insns, gdb) and flawed_eret; or a shipped lineup's name (gotcha: the ERET gotcha "
                             "four ways); GUESTs given too are added after its guests")
    add_guest_options(parser)  # --ram --disk --no-disk --no-net --max-insns --remedy --sbi --gdb --restore
    parser.add_argument("--flawed-eret", action="store_true",
                        help="the lecture's flaw in the real hardware: SRET/MRET in U-mode run instead of trapping")
    parser.add_argument("--pcap", metavar="FILE",
                        help="capture every Ethernet frame crossing the virtual switch into FILE (pcap format), "
                             "written when the dashboard quits")


def command(args: argparse.Namespace) -> int:
    """The dashboard.  Guests that cannot be loaded are one line each on stderr (and a
    toast in the dashboard); the others start.  None at all: status 2."""
    lineup, problems = lineup_for(args)
    return _run(lineup, args.pcap, problems)


def lineup_for(args: argparse.Namespace):
    """(the Lineup the command line names, the lines saying which of its images are
    not there).  The guests restored from --restore snapshots first (as for `run`),
    then --config's, then the GUESTs; the options applied to them.  SpecError (or
    UserError) for what stops the dashboard from starting at all."""
    from tuivmm.lineup.file import Lineup, default_lineup, load_lineup
    from tuivmm.lineup.spec import GuestSpec, SpecError, apply_options
    from tuivmm.tools.snapshot import SnapshotError, read_snapshot

    if args.pcap is not None and args.no_net:
        raise UserError("--pcap captures the virtual switch, and --no-net leaves the guests off it")
    lineup = load_lineup(args.config) if args.config else Lineup()  # a LineupError is one line
    try:
        snapshots = [read_snapshot(path) for path in args.restore]
    except SnapshotError as exc:
        raise UserError(str(exc)) from None
    given = [GuestSpec(image) for image in args.guests]
    if not (lineup.guests or given or snapshots):
        given = default_lineup().guests
    problems: list[str] = []  # an image that is not there: a line on stderr (and a toast); the others start

    def found(specs: list[GuestSpec]) -> list[GuestSpec]:
        kept = []
        for spec in specs:
            try:
                kept.append(spec.resolve())
            except SpecError as exc:
                problems.append(str(exc))
        return kept

    from_file, given = found(lineup.guests), found(given)
    specs = [GuestSpec(snap.path, snapshot=snap) for snap in snapshots] + from_file + given
    apply_options(guest_options(args), specs, keep=from_file, where="here")
    # A snapshot saved on hardware with the ERET flaw runs on the same hardware.
    flawed = lineup.flawed_eret or args.flawed_eret or any(snap.flawed_eret for snap in snapshots)
    return Lineup(specs, flawed), problems


def _run(lineup, pcap: str | None, problems: list[str]) -> int:
    from tuivmm.tools.pcap import PcapError
    from tuivmm.ui.app import TuivmmApp
    from tuivmm.ui.session import Session

    try:
        session = Session(lineup, pcap=pcap)
    except PcapError as exc:
        raise UserError(str(exc)) from None
    session.errors[:0] = problems
    # Killed (SIGTERM), or its terminal closed (SIGHUP): unwind, so the throwaway
    # disks are removed and the terminal restored.
    previous = {sig: signal.signal(sig, terminated) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        for error in session.errors:
            print(f"tuivmm: {error}", file=sys.stderr, flush=True)
        if not session.guests:
            return EXIT_USAGE
        _quit_when_the_server_is_gone()
        TuivmmApp(session).run()
    finally:
        shown = len(session.errors)
        session.close()
        for error in session.errors[shown:]:
            print(f"tuivmm: {error}", file=sys.stderr, flush=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _quit_when_the_server_is_gone() -> None:
    """Under `tuivmm serve`, a dashboard whose server was killed (SIGKILL, a crash)
    is left with no browser, and textual-serve's driver would run it on forever:
    once the server is no longer its parent, it quits as if killed (SIGTERM)."""
    server = os.environ.get(SERVED_BY)
    if not server:
        return

    def watch() -> None:
        while os.getppid() == int(server):
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="served-by", daemon=True).start()
