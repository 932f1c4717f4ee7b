"""ELF32 RISC-V images: read them with pyelftools, place them in RAM.

Like QEMU's `-kernel`, the loader uses each PT_LOAD segment's physical address
(p_paddr): the machine starts with the MMU off, so that is where the bytes must
be.  Anything that keeps an image from running becomes a `LoadError` whose text
is one line naming the file and what is wrong with it.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.construct import ConstructError
from elftools.elf.descriptions import describe_e_machine
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_E_MACHINE, ENUM_E_TYPE
from elftools.elf.sections import SymbolTableSection

from machine.memory import Ram, RamError

ELF_MAGIC = b"\x7fELF"
EI_CLASS, EI_DATA = 4, 5
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
EM_RISCV = ENUM_E_MACHINE["EM_RISCV"]
ET_EXEC = ENUM_E_TYPE["ET_EXEC"]

# The ELF header after e_ident, by class (System V ABI, "ELF Header"):
# e_type e_machine e_version e_entry e_phoff e_shoff e_flags
# e_ehsize e_phentsize e_phnum e_shentsize e_shnum e_shstrndx
_HEADER_LAYOUT = {ELFCLASS32: "HHIIIIIHHHHHH", ELFCLASS64: "HHIQQQIHHHHHH"}
_IDENT_SIZE = 16

# Short names for the machines people are likely to hand us by mistake;
# pyelftools' descriptions ("Advanced Micro Devices X86-64") cover the rest.
_MACHINE_NAMES = {
    "EM_386": "i386",
    "EM_X86_64": "x86-64",
    "EM_ARM": "32-bit Arm",
    "EM_AARCH64": "AArch64",
    "EM_MIPS": "MIPS",
    "EM_PPC": "PowerPC",
    "EM_PPC64": "64-bit PowerPC",
    "EM_S390": "IBM S/390",
    "EM_SPARC": "SPARC",
    "EM_SPARCV9": "SPARC v9",
    "EM_LOONGARCH": "LoongArch",
}

_TYPE_PROBLEMS = {
    "ET_NONE": "has no file type (ET_NONE); an executable (ET_EXEC) is needed",
    "ET_REL": "is a relocatable object (ET_REL), not an executable; link it first",
    "ET_DYN": "is a shared object or PIE (ET_DYN), not an executable; "
              "link it with -static -no-pie",
    "ET_CORE": "is a core dump (ET_CORE), not an executable",
}


class LoadError(Exception):
    """An image that cannot be loaded; str() is one line for a person."""


@dataclass(frozen=True)
class Segment:
    """One PT_LOAD segment: `data` goes at `paddr`, then zeros up to `memsz` (its .bss)."""

    paddr: int
    data: bytes
    memsz: int


@dataclass(frozen=True)
class Image:
    path: Path
    entry: int
    segments: list[Segment]
    symbols: dict[str, int] = field(default_factory=dict)
    # The section that holds `tohost`, if the image has one: ".tohost" in riscv-tests
    # style images, ".htif" in OpenSBI's and bbl's (machine/htif.py, `wants_htif`).
    tohost_section: str | None = None


def load_elf(path: str | Path) -> Image:
    """Read an ELF32 little-endian RISC-V executable, or raise LoadError."""
    path = Path(path)
    raw = _read(path)
    _check_header(path, raw)
    try:
        elf = ELFFile(io.BytesIO(raw))
        segments = _segments(path, elf, len(raw))
        symbols = _symbols(path, elf, len(raw))
        tohost_section = _section_of(elf, "tohost") if "tohost" in symbols else None
        entry = elf.header["e_entry"]
    except (ELFError, ConstructError, struct.error, ValueError, EOFError) as exc:
        raise LoadError(f"{path}: corrupt ELF: {_one_line(exc)}") from None
    return Image(path=path, entry=entry, segments=segments, symbols=symbols, tohost_section=tohost_section)


def place(image: Image, ram: Ram) -> None:
    """Write the image's segments into RAM, zero-filling each one's .bss."""
    last = ram.base + ram.size - 1
    for segment in image.segments:
        if not ram.contains(segment.paddr, segment.memsz):
            if segment.paddr >= ram.base:
                needed = segment.paddr + segment.memsz - ram.base
                hint = f"it needs at least {-(-needed // (1 << 20))} MiB of RAM"
            else:
                hint = f"link it at {ram.base:#010x} or above"
            raise LoadError(
                f"{image.path}: segment at {segment.paddr:#010x} ({segment.memsz} bytes) "
                f"does not fit in RAM {ram.base:#010x}-{last:#010x}; {hint}")
        padding = bytes(segment.memsz - len(segment.data))
        try:
            ram.write_bytes(segment.paddr, segment.data + padding)
        except RamError as exc:
            raise LoadError(f"{image.path}: {exc}") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LoadError(f"{path}: is a directory, not an ELF file") from None
    except OSError as exc:
        raise LoadError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def _check_header(path: Path, raw: bytes) -> None:
    """Everything that makes a file the wrong kind of ELF, from its header alone.

    Done by hand before pyelftools sees the file, because pyelftools reports a
    short file as "expected 4, found 0" and an unknown machine not at all.
    """
    def fail(problem: str) -> LoadError:
        return LoadError(f"{path}: {problem}")

    if not raw:
        raise fail("is empty, not an ELF file")
    if raw[:4] != ELF_MAGIC:
        raise fail("not an ELF file (it does not start with \\x7fELF)")
    if len(raw) < _IDENT_SIZE:
        raise fail(f"truncated ELF: {len(raw)} bytes, not even a whole ELF header")
    elf_class, data = raw[EI_CLASS], raw[EI_DATA]
    if elf_class not in _HEADER_LAYOUT or data not in (ELFDATA2LSB, ELFDATA2MSB):
        raise fail(f"corrupt ELF: unknown class {elf_class} or byte order {data}")
    layout = ("<" if data == ELFDATA2LSB else ">") + _HEADER_LAYOUT[elf_class]
    header_size = _IDENT_SIZE + struct.calcsize(layout)
    if len(raw) < header_size:
        raise fail(f"truncated ELF: {len(raw)} bytes, not even a whole ELF header "
                   f"({header_size} bytes)")
    (e_type, e_machine, _version, _entry, e_phoff, e_shoff, _flags, _ehsize,
     e_phentsize, e_phnum, e_shentsize, e_shnum, _shstrndx) = \
        struct.unpack_from(layout, raw, _IDENT_SIZE)

    if e_machine != EM_RISCV:
        raise fail(f"is for {_machine_name(e_machine)}, not RISC-V")
    if elf_class == ELFCLASS64:
        raise fail("is a 64-bit ELF; this machine is RV32")
    if data == ELFDATA2MSB:
        raise fail("is big-endian; this machine is little-endian")
    if e_type != ET_EXEC:
        kind = _enum_name(ENUM_E_TYPE, e_type)
        raise fail(_TYPE_PROBLEMS.get(kind, f"is not an executable (type {e_type:#x}; "
                                            "ET_EXEC expected)"))
    if e_phnum == 0:
        raise fail("has no loadable (PT_LOAD) segments")
    _check_extent(path, len(raw), "program headers", e_phoff, e_phnum * e_phentsize)
    _check_extent(path, len(raw), "section headers", e_shoff, e_shnum * e_shentsize)


def _segments(path: Path, elf: ELFFile, file_size: int) -> list[Segment]:
    segments = []
    for segment in elf.iter_segments():
        if segment["p_type"] != "PT_LOAD" or segment["p_memsz"] == 0:
            continue
        paddr, offset = segment["p_paddr"], segment["p_offset"]
        filesz, memsz = segment["p_filesz"], segment["p_memsz"]
        where = f"segment at {paddr:#010x}"
        # pyelftools would hand back short data for a segment cut off by EOF.
        _check_extent(path, file_size, where, offset, filesz)
        if filesz > memsz:
            raise LoadError(f"{path}: corrupt ELF: {where} has more bytes in the file "
                            f"({filesz}) than in memory ({memsz})")
        if paddr + memsz > 1 << 32:
            raise LoadError(f"{path}: corrupt ELF: {where} ({memsz} bytes) runs past "
                            "the end of the 32-bit address space")
        segments.append(Segment(paddr, segment.data(), memsz))
    if not segments:
        raise LoadError(f"{path}: has no loadable (PT_LOAD) segments")
    return segments


def _symbols(path: Path, elf: ELFFile, file_size: int) -> dict[str, int]:
    """Named symbols from .symtab; a global wins over a local of the same name."""
    table = elf.get_section_by_name(".symtab")
    if not isinstance(table, SymbolTableSection):
        return {}
    _check_extent(path, file_size, ".symtab", table["sh_offset"], table["sh_size"])
    symbols: dict[str, int] = {}
    global_names: set[str] = set()
    for symbol in table.iter_symbols():
        name = symbol.name
        if not name or symbol["st_info"]["type"] in ("STT_SECTION", "STT_FILE"):
            continue
        is_global = symbol["st_info"]["bind"] != "STB_LOCAL"
        if name in global_names or (name in symbols and not is_global):
            continue
        symbols[name] = symbol["st_value"]
        if is_global:
            global_names.add(name)
    return symbols


def _section_of(elf: ELFFile, name: str) -> str | None:
    """The name of the section that holds the global (else first) symbol `name`."""
    found = None
    for symbol in elf.get_section_by_name(".symtab").iter_symbols():
        if symbol.name == name and (found is None or _local(found) and not _local(symbol)):
            found = symbol
    index = found["st_shndx"] if found is not None else None
    if not isinstance(index, int) or not 0 < index < elf.num_sections():
        return None  # absolute, common or undefined: in no section
    return elf.get_section(index).name


def _local(symbol) -> bool:
    return symbol["st_info"]["bind"] == "STB_LOCAL"


def _check_extent(path: Path, file_size: int, what: str, offset: int, size: int) -> None:
    if offset + size > file_size:
        raise LoadError(f"{path}: truncated ELF: {file_size} bytes, but it needs "
                        f"bytes {offset}-{offset + size} for its {what}")


def _machine_name(e_machine: int) -> str:
    name = _enum_name(ENUM_E_MACHINE, e_machine)
    if name is None:
        return f"unknown machine {e_machine}"
    return _MACHINE_NAMES.get(name) or describe_e_machine(name)


def _enum_name(enum: dict, value: int) -> str | None:
    for name, number in enum.items():
        if number == value and not name.startswith("_"):
            return name
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
