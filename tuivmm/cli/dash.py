"""`tuivmm dash [GUEST...]` (and plain `tuivmm`): the dashboard."""

from __future__ import annotations

import argparse
import signal
import sys

from tuivmm.cli.common import EXIT_USAGE, UserError, remedy_choice, terminated


def add_parser(commands) -> None:
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
    dash.add_argument("--remedy", type=remedy_choice, metavar="{none,bt,pv,hw}",
                      help="how the VMM copes with --flawed-eret, for the GUESTs given here (default none)")
    dash.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)



def command(args: argparse.Namespace) -> int:
    """The dashboard.  Guests that cannot be loaded are one line each on stderr (and a
    toast in the dashboard); the others start.  None at all: status 2."""
    from tuivmm.lineup.file import (
        Lineup,
        LineupError,
        default_lineup,
        lineup_from_names,
        load_lineup,
    )

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

    from tuivmm.tools.pcap import PcapError
    from tuivmm.ui.app import TuivmmApp
    from tuivmm.ui.session import Session

    try:
        session = Session(lineup, pcap=getattr(args, "pcap", None))
    except PcapError as exc:
        raise UserError(str(exc)) from None
    # Killed (SIGTERM), or its terminal closed (SIGHUP): unwind, so the throwaway
    # disks are removed and the terminal restored.
    previous = {sig: signal.signal(sig, terminated) for sig in (signal.SIGTERM, signal.SIGHUP)}
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
