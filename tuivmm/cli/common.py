"""What the `tuivmm` commands share: the error a user can fix, and loading an IMAGE
onto the bare machine.  The option types and what an IMAGE argument names (a
packaged guest's name, an ELF file, or an assembly file for our own assembler) are
tuivmm/lineup's (options.py, spec.py), shared with the dashboard; they are
imported here for the commands."""

from __future__ import annotations

from tuivmm.lineup.options import file_name, named, positive_int, remedy_choice, tcp_port  # noqa: F401
from tuivmm.lineup.spec import ASSEMBLY_SUFFIXES, SpecError, assemble_file, image_path  # noqa: F401

EXIT_USAGE = 2
EXIT_INTERNAL = 70

class UserError(Exception):
    """Something the user can fix; printed as one line (as is a SpecError: a guest
    named wrong)."""



def terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


def load_image(board, image: str) -> None:
    """An ELF file, or an assembly source that our own assembler turns into a RAM image
    at 0x80000000 (entry: `_start`, else the first instruction; HTIF if it defines
    `tohost`; a device tree only if the board has one of the user's)."""
    from machine.loader import LoadError

    image = image_path(image)  # SpecError, one line, if there is none
    if image.endswith(ASSEMBLY_SUFFIXES):
        program = assemble_file(image)
        if len(program.data) > board.ram.size:
            raise UserError(f"{image}: the program ({len(program.data)} bytes) does not fit in RAM")
        # Raw code gets no device tree (a1 = 0), unless the user hands one (--dtb).
        try:
            board.load_program(program.data, program.entry, with_dtb=isinstance(board.dtb_choice, bytes))
        except LoadError as exc:
            raise UserError(str(exc)) from None
        if "tohost" in program.symbols:
            board.attach_htif(program.symbols["tohost"], program.symbols.get("fromhost"))
        return
    try:
        board.load(image)
    except LoadError as exc:
        raise UserError(str(exc)) from None
