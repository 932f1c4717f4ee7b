"""What the `tuivmm` commands share: the error a user can fix, option types, and
how an IMAGE argument becomes something to run (a packaged guest's name, an ELF
file, or an assembly file for our own assembler)."""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_USAGE = 2
EXIT_INTERNAL = 70

class UserError(Exception):
    """Something the user can fix; printed as one line."""



def positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value



def check_ram(option: str, mib: int) -> None:
    """UserError if `mib` (given as `option`, say "--ram unix=4096") is more RAM than
    a guest may have: the same bound for `bare`, `run` and lineup files."""
    from tuivmm.lineup import MAX_RAM_MIB

    if mib > MAX_RAM_MIB:
        raise UserError(f"{option}: a guest has at most {MAX_RAM_MIB} MiB of RAM")


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



def terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


ASSEMBLY_SUFFIXES = (".s", ".S", ".asm")


def assemble_file(image: str):
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


def load_image(board, image: str) -> None:
    """An ELF file, or an assembly source that our own assembler turns into a RAM image
    at 0x80000000 (entry: `_start`, else the first instruction; HTIF if it defines
    `tohost`)."""
    from machine.loader import LoadError

    image = image_path(image)
    if image.endswith(ASSEMBLY_SUFFIXES):
        program = assemble_file(image)
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


def image_path(image: str) -> str:
    """The path an IMAGE argument names (a packaged guest's name resolved); UserError if none."""
    from tuivmm.lineup.packaged import resolve

    path = resolve(image)
    if not Path(path).exists():
        raise UserError(f"{path}: no such file or packaged guest (`tuivmm guests` lists them)")
    return path
