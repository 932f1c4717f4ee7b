"""Naming guests on a command line: the option types (argparse), the per-guest options
`tuivmm run` and `tuivmm dash` share, each with one help text, and the line typed
after F9 in the dashboard, which names one guest the same way:

    IMAGE [--name NAME] [--ram MIB] [--disk FILE | --no-disk] [--remedy REMEDY]
          [--sbi SBI] [--no-net] [--max-insns N] [--gdb PORT]

The rules behind them (what an IMAGE is, which value a guest gets) are spec.py's.
"""

from __future__ import annotations

import argparse
import shlex

from tuivmm.lineup.spec import (
    DEFAULT_RAM_MIB,
    MAX_RAM_MIB,
    NAME_RULE,
    RAM_RULE,
    GuestOptions,
    GuestSpec,
    SpecError,
    valid_name,
    valid_ram_mib,
)

# --- option types ---------------------------------------------------------------------------------


def positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def ram_mib(text: str) -> int:
    """A guest's RAM in MiB: from 1 to MAX_RAM_MIB."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not valid_ram_mib(value):
        raise argparse.ArgumentTypeError(f"must be {RAM_RULE}: {text!r}")
    return value


def guest_name(text: str) -> str:
    if not valid_name(text):
        raise argparse.ArgumentTypeError(f"a guest's name is {NAME_RULE}: {text!r}")
    return text


def named(kind: str, convert=str, *, need_name: bool = False):
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


def remedy_choice(text: str) -> str:
    from tuivmm.vmm.monitor import REMEDIES

    if text not in REMEDIES:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(REMEDIES)})")
    return text


def sbi_choice(text: str) -> str:
    from tuivmm.vmm.monitor import SBI_MODES

    if text not in SBI_MODES:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(SBI_MODES)})")
    return text


def tcp_port(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return port


def file_name(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("an empty FILE")
    return text


# --- the per-guest options of run and dash ----------------------------------------------------------

HELP = {
    "ram": f"guest RAM in MiB (default {DEFAULT_RAM_MIB}, at most {MAX_RAM_MIB}); repeatable",
    "disk": "FILE is guest NAME's virtio disk (made fresh if it does not exist: unix's TUFS, or ext2 for "
    "linux; NAME may be left out when there is one guest); repeatable. A unix or linux guest without --disk "
    "gets a fresh empty disk that is thrown away at exit",
    "no_disk": "no disks at all, not even the throwaway ones unix and linux guests get without --disk",
    "no_net": "no network cards (as on `tuivmm bare`); by default every guest has one on the VMM's virtual "
    "switch, MAC 52:54:00:00:00:N for the N-th guest",
    "max_insns": "stop a guest once it has run N instructions, counted since it booted (for `run`, exit "
    "status 124)",
    "remedy": "how the VMM copes with --flawed-eret: none (the naive VMM), bt (binary translation), pv "
    "(hypercalls, for guests built for them), hw (the hardware assist); repeatable",
    "sbi": "who answers the guest kernel's SBI calls: firmware (the default: the image's own M-mode "
    "firmware, in virtual M-mode, each call an ECALL the VMM passes to it) or vmm (the VMM itself, as KVM "
    "does: no firmware runs, the kernel behind it starts in virtual S-mode; for images built with "
    "guests/sbi, as linux); repeatable",
    "gdb": "serve a GDB remote stub for guest NAME (without NAME: the first guest) on 127.0.0.1:PORT (0: a "
    "free port, which tuivmm tells); the guest waits at its first instruction until gdb continues it; "
    "repeatable",
    "restore": "start a guest from the snapshot in FILE, before the GUESTs (a --disk NAME=FILE for it gets "
    "its saved disk, else a throwaway copy); repeatable",
}


def add_guest_options(parser: argparse.ArgumentParser) -> None:
    """The options that say how each guest runs, as `run` and `dash` take them."""
    parser.add_argument("--ram", action="append", default=[], type=named("MIB", ram_mib),
                        metavar="[NAME=]MIB", help=HELP["ram"])  # fmt: skip
    disk = parser.add_mutually_exclusive_group()
    disk.add_argument("--disk", action="append", default=[], type=named("FILE", file_name), metavar="NAME=FILE",
                      help=HELP["disk"])  # fmt: skip
    disk.add_argument("--no-disk", action="store_true", help=HELP["no_disk"])
    parser.add_argument("--no-net", action="store_true", help=HELP["no_net"])
    parser.add_argument("--max-insns", type=positive_int, metavar="N", help=HELP["max_insns"])
    parser.add_argument("--remedy", action="append", default=[], type=named("REMEDY", remedy_choice),
                        metavar="[NAME=]{none,bt,pv,hw}", help=HELP["remedy"])  # fmt: skip
    parser.add_argument("--sbi", action="append", default=[], type=named("SBI", sbi_choice),
                        metavar="[NAME=]{firmware,vmm}", help=HELP["sbi"])  # fmt: skip
    parser.add_argument("--gdb", action="append", default=[], type=named("PORT", tcp_port), metavar="[NAME=]PORT",
                        help=HELP["gdb"])  # fmt: skip
    parser.add_argument("--restore", action="append", default=[], metavar="FILE", help=HELP["restore"])


def guest_options(args: argparse.Namespace) -> GuestOptions:
    """The options `add_guest_options` added, as parsed."""
    return GuestOptions(ram=args.ram, disk=args.disk, remedy=args.remedy, sbi=args.sbi, gdb=args.gdb,
                        no_disk=args.no_disk, no_net=args.no_net, max_insns=args.max_insns)  # fmt: skip


# --- the line typed after F9 ---------------------------------------------------------------------------

LINE_SYNTAX = ("IMAGE [--name NAME] [--ram MIB] [--disk FILE | --no-disk] [--remedy REMEDY] [--sbi SBI] "
               "[--no-net] [--max-insns N] [--gdb PORT]")  # fmt: skip


class _LineParser(argparse.ArgumentParser):
    """An ArgumentParser that raises SpecError instead of printing and exiting."""

    def error(self, message: str):
        raise SpecError(message)

    def exit(self, status: int = 0, message: str | None = None):
        raise SpecError((message or "").strip() or f"status {status}")


def _line_parser() -> _LineParser:
    line = _LineParser(prog="add", add_help=False, allow_abbrev=False)
    line.add_argument("images", nargs="*", metavar="IMAGE")
    line.add_argument("--name", type=guest_name)
    line.add_argument("--ram", type=ram_mib, default=None)
    disk = line.add_mutually_exclusive_group()
    disk.add_argument("--disk", type=file_name)
    disk.add_argument("--no-disk", action="store_true")
    line.add_argument("--remedy", type=remedy_choice, default="none")
    line.add_argument("--sbi", type=sbi_choice, default="firmware")
    line.add_argument("--no-net", action="store_true")
    line.add_argument("--max-insns", type=positive_int)
    line.add_argument("--gdb", type=tcp_port)
    return line


def line_options() -> list[str]:
    """The options a guest's line takes (for completion)."""
    return sorted(o for action in _line_parser()._actions for o in action.option_strings)


def parse_guest_line(text: str) -> GuestSpec:
    """The guest a line names, as a command line would (see the module's syntax),
    its image resolved; SpecError with one line saying what is wrong."""
    try:
        words = shlex.split(text)
    except ValueError as exc:  # an open quote
        raise SpecError(f"{str(exc).lower()}: {text}") from None
    args = _line_parser().parse_args(words)
    if not args.images:
        raise SpecError(f"no IMAGE: {LINE_SYNTAX}")
    if len(args.images) > 1:
        raise SpecError(f"one guest at a time, not {len(args.images)}: {' '.join(args.images)}")
    spec = GuestSpec(args.images[0], name=args.name, disk=args.disk, remedy=args.remedy, net=not args.no_net,
                     no_disk=args.no_disk, gdb_port=args.gdb, max_insns=args.max_insns, sbi=args.sbi)  # fmt: skip
    if args.ram is not None:
        spec.ram_mib = args.ram
    spec.resolve()
    spec.check_fits()
    return spec
