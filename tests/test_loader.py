"""machine.loader: a good image loads as binutils sees it; every bad one is one line."""

import platform
import random
import re
import struct
from pathlib import Path

import pytest

from machine.loader import Image, LoadError, Segment, load_elf, place
from machine.memory import Ram
from toolchain import build_dir, cross_tool, run_tool

RAM_BASE = 0x8000_0000
POISON = 0xAA

# ELF32 header field offsets (System V ABI, "ELF Header").
E_TYPE, E_PHOFF, E_SHOFF, E_PHNUM, E_SHNUM, E_SHSTRNDX = 16, 28, 32, 44, 48, 50
PHDR_SIZE = 32
PT_NOTE = 4


def load_error(path: Path) -> str:
    with pytest.raises(LoadError) as caught:
        load_elf(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message[len(f"{path}: "):]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def patched(elf: bytes, offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(elf)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


# --- a good image --------------------------------------------------------------


def test_hello_entry_is_start_at_the_base_of_ram(hello_elf):
    image = load_elf(hello_elf)
    assert image.entry == RAM_BASE
    assert image.symbols["_start"] == RAM_BASE
    assert image.path == hello_elf


def test_hello_symbols_match_nm(hello_elf):
    image = load_elf(hello_elf)
    for line in run_tool(cross_tool("nm"), hello_elf).splitlines():
        value, kind, name = line.split()
        if kind.isupper():  # globals: local names may repeat across files
            assert image.symbols[name] == int(value, 16), name
    assert {"main", "uart_putc", "printf", "__bss_start", "__bss_end"} <= image.symbols.keys()


def test_hello_has_a_code_segment_and_a_data_segment_with_bss(hello_elf):
    image = load_elf(hello_elf)
    code, data = image.segments
    assert code.paddr == RAM_BASE and code.memsz == len(code.data)
    assert data.memsz > len(data.data)
    assert data.paddr <= image.symbols["__bss_start"] < image.symbols["__bss_end"] \
        <= data.paddr + data.memsz


def test_place_writes_what_objcopy_extracts_and_zeroes_bss(hello_elf):
    image = load_elf(hello_elf)
    flat = build_dir() / "hello-flat.bin"
    run_tool(cross_tool("objcopy"), "-O", "binary", hello_elf, flat)
    flat_bytes = flat.read_bytes()
    ram = Ram(RAM_BASE, 1 << 20, fill=POISON)

    place(image, ram)

    for segment in image.segments:
        start = segment.paddr - RAM_BASE
        filesz = len(segment.data)
        assert ram.read_bytes(segment.paddr, filesz) == flat_bytes[start : start + filesz]
        assert ram.read_bytes(segment.paddr + filesz, segment.memsz - filesz) == \
            bytes(segment.memsz - filesz)
    last = image.segments[-1]
    end = last.paddr + last.memsz
    assert ram.read_bytes(end, 16) == bytes([POISON]) * 16


def test_place_reports_each_write_to_ram_watchers(hello_elf):
    ram = Ram(RAM_BASE, 1 << 20)
    writes = []
    ram.on_write = lambda offset, length: writes.append((offset, length))
    image = load_elf(hello_elf)
    place(image, ram)
    assert writes == [(s.paddr - RAM_BASE, s.memsz) for s in image.segments]


# --- images that do not fit ----------------------------------------------------


def test_place_segment_past_the_end_of_ram_says_how_much_ram_it_needs(hello_elf):
    ram = Ram(RAM_BASE, 4096)
    with pytest.raises(LoadError) as caught:
        place(load_elf(hello_elf), ram)
    assert re.fullmatch(
        rf"{re.escape(str(hello_elf))}: segment at 0x80001000 \(\d+ bytes\) does not fit in "
        r"RAM 0x80000000-0x80000fff; it needs at least 1 MiB of RAM", str(caught.value))


def test_place_segment_below_ram_says_where_to_link():
    image = Image(path=Path("low.elf"), entry=0x1000, segments=[Segment(0x1000, b"\x13" * 8, 8)])
    with pytest.raises(LoadError) as caught:
        place(image, Ram(RAM_BASE, 4096))
    assert str(caught.value) == ("low.elf: segment at 0x00001000 (8 bytes) does not fit in "
                                 "RAM 0x80000000-0x80000fff; link it at 0x80000000 or above")


# --- files that are not ELF ----------------------------------------------------


def test_missing_file(tmp_path):
    assert load_error(tmp_path / "nothing.elf") == "no such file"


def test_directory(tmp_path):
    assert load_error(tmp_path) == "is a directory, not an ELF file"


def test_empty_file(tmp_path):
    assert load_error(write(tmp_path, "empty.elf", b"")) == "is empty, not an ELF file"


def test_random_bytes(tmp_path):
    noise = random.Random(7).randbytes(4096)
    assert not noise.startswith(b"\x7fELF")
    assert load_error(write(tmp_path, "noise.elf", noise)) == \
        "not an ELF file (it does not start with \\x7fELF)"


def test_text_file(tmp_path):
    assert load_error(write(tmp_path, "notes.txt", b"hello\n")).startswith("not an ELF file")


# --- damaged ELF files ---------------------------------------------------------


def test_truncated_inside_the_elf_header(tmp_path, hello_elf):
    path = write(tmp_path, "cut.elf", hello_elf.read_bytes()[:40])
    assert load_error(path) == "truncated ELF: 40 bytes, not even a whole ELF header (52 bytes)"


def test_truncated_before_the_section_headers(tmp_path, hello_elf):
    elf = hello_elf.read_bytes()
    path = write(tmp_path, "cut.elf", elf[:5000])
    assert re.fullmatch(r"truncated ELF: 5000 bytes, but it needs bytes \d+-\d+ "
                        r"for its section headers", load_error(path))


def test_truncated_inside_a_segment(tmp_path, hello_elf):
    # Without section headers, only the segment's own extent shows the cut.
    elf = hello_elf.read_bytes()
    for offset, value in [(E_SHOFF, 0), (E_SHNUM, 0), (E_SHSTRNDX, 0)]:
        elf = patched(elf, offset, "<I" if offset == E_SHOFF else "<H", value)
    path = write(tmp_path, "cut.elf", elf[:0x1800])
    assert re.fullmatch(r"truncated ELF: 6144 bytes, but it needs bytes 4096-\d+ "
                        r"for its segment at 0x80000000", load_error(path))


def test_unknown_elf_class(tmp_path, hello_elf):
    elf = bytearray(hello_elf.read_bytes())
    elf[4] = 9
    assert load_error(write(tmp_path, "odd.elf", bytes(elf))) == \
        "corrupt ELF: unknown class 9 or byte order 1"


# --- ELF files for something else ----------------------------------------------


def test_host_binary_names_the_host_machine():
    machine = {"x86_64": "x86-64", "aarch64": "AArch64"}[platform.machine()]
    assert load_error(Path("/bin/true")) == f"is for {machine}, not RISC-V"


def test_unknown_machine_number(tmp_path, hello_elf):
    path = write(tmp_path, "odd.elf", patched(hello_elf.read_bytes(), 18, "<H", 0x9999))
    assert load_error(path) == f"is for unknown machine {0x9999}, not RISC-V"


def test_rv64_image(tmp_path):
    source = write(tmp_path, "main.c", b"int main(void) { return 0; }\n")
    elf = tmp_path / "rv64.elf"
    run_tool(cross_tool("gcc"), "-nostdlib", "-nostartfiles", "-static", "-e", "main",
             "-o", elf, source)
    assert load_error(elf) == "is a 64-bit ELF; this machine is RV32"


def test_big_endian_rv32_image(tmp_path):
    source = write(tmp_path, "be.s", b".globl _start\n_start: nop\n")
    obj, elf = tmp_path / "be.o", tmp_path / "be.elf"
    run_tool(cross_tool("as"), "-march=rv32i", "-mabi=ilp32", "-mbig-endian", "-o", obj, source)
    run_tool(cross_tool("ld"), "-EB", "-m", "elf32briscv", "-Ttext=0x80000000", "-o", elf, obj)
    assert load_error(elf) == "is big-endian; this machine is little-endian"


def test_relocatable_object(hello_elf):
    obj = hello_elf.with_name("hello.o")
    assert load_error(obj) == "is a relocatable object (ET_REL), not an executable; link it first"


def test_shared_object_or_pie(tmp_path, hello_elf):
    path = write(tmp_path, "pie.elf", patched(hello_elf.read_bytes(), E_TYPE, "<H", 3))
    assert load_error(path) == ("is a shared object or PIE (ET_DYN), not an executable; "
                                "link it with -static -no-pie")


def test_no_program_headers(tmp_path, hello_elf):
    path = write(tmp_path, "none.elf", patched(hello_elf.read_bytes(), E_PHNUM, "<H", 0))
    assert load_error(path) == "has no loadable (PT_LOAD) segments"


def test_no_loadable_segments(tmp_path, hello_elf):
    elf = hello_elf.read_bytes()
    phoff, phnum = struct.unpack_from("<I", elf, E_PHOFF)[0], struct.unpack_from("<H", elf, E_PHNUM)[0]
    for n in range(phnum):
        elf = patched(elf, phoff + n * PHDR_SIZE, "<I", PT_NOTE)
    assert load_error(write(tmp_path, "notes.elf", elf)) == "has no loadable (PT_LOAD) segments"
