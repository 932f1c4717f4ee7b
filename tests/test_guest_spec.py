"""Naming guests (tuivmm/lineup/spec.py, options.py): what an IMAGE names, which value
of a `[NAME=]VALUE` option each guest gets, the line typed after F9, and lineup files
read into the same GuestSpecs."""

from __future__ import annotations

import pytest

from tuivmm.lineup.packaged import IMAGES
from tuivmm.lineup.spec import GuestOptions, GuestSpec, SpecError, apply_options

HELLO_S = "_start:\n    li t0, 0x100000\n    li t1, 0x5555\n    sw t1, 0(t0)\n"


# --- what an IMAGE names ------------------------------------------------------------------------------


def test_a_packaged_name_an_elf_and_an_assembly_file_each_resolve(tmp_path):
    unix = GuestSpec("unix").resolve()
    assert unix.path == str(IMAGES / "unix.elf") and unix.program is None
    elf = GuestSpec(str(IMAGES / "hello.elf")).resolve()
    assert elf.path == str(IMAGES / "hello.elf") and elf.base == "hello"
    (tmp_path / "tiny.S").write_text(HELLO_S)
    tiny = GuestSpec(str(tmp_path / "tiny.S")).resolve()
    assert tiny.base == "tiny"
    assert tiny.program is not None and len(tiny.program.data) == 16  # li t1, 0x5555 is two


def test_a_misspelled_packaged_name_gets_the_close_match_and_the_hint():
    with pytest.raises(SpecError) as caught:
        GuestSpec("uinx").resolve()
    assert str(caught.value) == "uinx: no such file or packaged guest; did you mean unix? (`tuivmm guests` lists them)"


@pytest.mark.parametrize("image", ["no/such/unix.elf", "unix.elf", "zzzz"])
def test_a_missing_path_or_a_word_like_no_guest_gets_only_the_hint(image):
    with pytest.raises(SpecError) as caught:
        GuestSpec(image).resolve()
    assert str(caught.value) == f"{image}: no such file or packaged guest (`tuivmm guests` lists them)"


def test_assembly_that_does_not_assemble_is_one_line(tmp_path):
    (tmp_path / "bad.S").write_text("_start:\n    frobnicate a0\n")
    with pytest.raises(SpecError) as caught:
        GuestSpec(str(tmp_path / "bad.S")).resolve()
    assert str(caught.value).startswith(f"{tmp_path / 'bad.S'}: ") and "\n" not in str(caught.value)


# --- which value each guest gets ------------------------------------------------------------------


def specs(*images: str) -> list[GuestSpec]:
    return [GuestSpec(image) for image in images]


def test_a_value_for_a_guests_name_beats_one_without_name_which_beats_its_own():
    guests = [*specs("hello", "hello", "hello"), GuestSpec("unix", ram_mib=8)]
    apply_options(GuestOptions(ram=[("hello-3", 16), (None, 32), ("hello", 64), (None, 48)]), guests)
    assert [(g.name, g.ram_mib) for g in guests] == [("hello", 64), ("hello-2", 48), ("hello-3", 16),
                                                      ("unix", 48)]  # fmt: skip
    guests = [*specs("hello"), GuestSpec("unix", ram_mib=8)]
    apply_options(GuestOptions(ram=[("hello", 64)]), guests)
    assert [g.ram_mib for g in guests] == [64, 8]


def test_an_unknown_name_is_an_error_that_lists_the_guests_and_the_one_meant():
    with pytest.raises(SpecError) as caught:
        apply_options(GuestOptions(remedy=[("eret-escpe", "bt")]), specs("eret-escape", "hello"))
    assert str(caught.value) == ("--remedy eret-escpe=...: no guest named eret-escpe in this run "
                                 "(eret-escape, hello); did you mean eret-escape?")  # fmt: skip


def test_one_guest_takes_a_plain_disk_file_but_a_misspelled_name_is_refused():
    (unix,) = guests = specs("unix")
    apply_options(GuestOptions(disk=[(None, "u.img")]), guests)
    assert unix.disk == "u.img"
    with pytest.raises(SpecError, match=r"^--disk unxi=\.\.\.: no guest named unxi in this run \(unix\); "
                                        r"did you mean unix\? \(a FILE with '=' in it needs its NAME"):  # fmt: skip
        apply_options(GuestOptions(disk=[("unxi", "x.img")]), specs("unix"))
    with pytest.raises(SpecError, match="--disk needs NAME=FILE when there is more than one guest"):
        apply_options(GuestOptions(disk=[(None, "u.img")]), specs("unix", "hello"))
    with pytest.raises(SpecError, match="one disk cannot be both unix's and unix-2's"):
        apply_options(GuestOptions(disk=[("unix", "u.img"), ("unix-2", "./u.img")]), specs("unix", "unix"))


def test_options_without_a_name_leave_a_lineup_files_guests_alone_but_a_name_reaches_them():
    from_file = GuestSpec("hello", name="box", ram_mib=16, remedy="hw")
    guests = [from_file, *specs("hello")]
    apply_options(GuestOptions(ram=[(None, 64)], remedy=[("box", "bt"), (None, "pv")], no_net=True, no_disk=True,
                               max_insns=1000), guests, keep=[from_file])  # fmt: skip
    box, hello = guests
    assert (box.ram_mib, box.remedy, box.net, box.no_disk, box.max_insns) == (16, "bt", True, False, None)
    assert (hello.ram_mib, hello.remedy, hello.net, hello.no_disk, hello.max_insns) == (64, "pv", False, True, 1000)


def test_gdb_without_a_name_is_the_first_new_guests_and_ports_are_not_shared():
    class Snap:
        name = "saved"

    restored = GuestSpec("saved.snap", snapshot=Snap())
    guests = [restored, *specs("hello", "unix")]
    apply_options(GuestOptions(gdb=[(None, 1234), ("saved", 0)]), guests)
    assert [(g.name, g.gdb_port) for g in guests] == [("saved", 0), ("hello", 1234), ("unix", None)]
    with pytest.raises(SpecError, match="each guest needs a port of its own"):
        apply_options(GuestOptions(gdb=[(None, 1234), ("unix", 1234)]), specs("hello", "unix"))
    with pytest.raises(SpecError, match="saved is restored from a snapshot and keeps its own"):
        apply_options(GuestOptions(ram=[("saved", 64)]), [GuestSpec("saved.snap", snapshot=Snap())])
    with pytest.raises(SpecError, match="--sbi saved=...: saved is restored from a snapshot and keeps its own"):
        apply_options(GuestOptions(sbi=[("saved", "vmm")]), [GuestSpec("saved.snap", snapshot=Snap())])


def test_sbi_is_per_guest_as_remedy_is():
    guests = specs("linux", "unix", "linux")
    apply_options(GuestOptions(sbi=[("linux", "vmm")]), guests)
    assert [(g.name, g.sbi) for g in guests] == [("linux", "vmm"), ("unix", "firmware"), ("linux-2", "firmware")]
    guests = specs("linux", "linux")
    apply_options(GuestOptions(sbi=[(None, "vmm"), ("linux-2", "firmware")]), guests)
    assert [g.sbi for g in guests] == ["vmm", "firmware"]


# --- the line typed after F9 ---------------------------------------------------------------------------


def test_an_f9_line_names_a_guest_as_a_command_line_does(tmp_path):
    from tuivmm.lineup.options import parse_guest_line

    (tmp_path / "my tiny.S").write_text(HELLO_S)
    tiny = parse_guest_line(f"'{tmp_path / 'my tiny.S'}' --ram 16 --remedy bt --no-net --max-insns 500 --gdb 0")
    assert (tiny.base, tiny.ram_mib, tiny.remedy, tiny.net, tiny.max_insns, tiny.gdb_port) == (
        "my tiny", 16, "bt", False, 500, 0)  # fmt: skip
    assert tiny.program is not None
    unix = parse_guest_line("unix --name box --disk box.img")
    assert unix == GuestSpec("unix", name="box", disk="box.img") and unix.path == str(IMAGES / "unix.elf")
    assert parse_guest_line("  hello  ") == GuestSpec("hello")
    assert parse_guest_line("linux --sbi vmm") == GuestSpec("linux", sbi="vmm")


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("uinx", "uinx: no such file or packaged guest; did you mean unix? (`tuivmm guests` lists them)"),
        ("hello --ram lots", "argument --ram: not a number: 'lots'"),
        ("hello --ram 4096", "argument --ram: must be a whole number of MiB from 1 to 1024: '4096'"),
        ("hello --remedy magic", "argument --remedy: invalid choice: 'magic' (choose from none, bt, pv, hw)"),
        ("linux --sbi opensbi", "argument --sbi: invalid choice: 'opensbi' (choose from firmware, vmm)"),
        ("hello --gdb 70000", "argument --gdb: not a TCP port: '70000'"),
        ("hello --name 'a b'", "argument --name: a guest's name is 1 to 16 letters, digits, '.', '-' or '_': 'a b'"),
        ("hello --disk a.img --no-disk", "argument --no-disk: not allowed with argument --disk"),
        ("hello --ram", "argument --ram: expected one argument"),
        ("hello --bogus", "unrecognized arguments: --bogus"),
        ("hello unix", "one guest at a time, not 2: hello unix"),
        ("--ram 16", ("no IMAGE: IMAGE [--name NAME] [--ram MIB] [--disk FILE | --no-disk] [--remedy REMEDY] "
                      "[--sbi SBI] [--no-net] [--max-insns N] [--gdb PORT]")),
        ("'hello", "no closing quotation: 'hello"),
    ],
)
def test_a_bad_f9_line_is_one_line_saying_what_is_wrong(line, error):
    from tuivmm.lineup.options import parse_guest_line

    with pytest.raises(SpecError) as caught:
        parse_guest_line(line)
    assert str(caught.value) == error


def test_a_lineup_file_and_an_f9_line_make_the_same_spec(tmp_path):
    from tuivmm.lineup.file import load_lineup
    from tuivmm.lineup.options import parse_guest_line

    (tmp_path / "l.toml").write_text('[[guest]]\nimage = "hello"\nname = "box"\nram_mib = 16\ndisk = "b.img"\n'
                                     'remedy = "pv"\nnet = false\nmax_insns = 9\ngdb = 1234\n')  # fmt: skip
    (from_file,) = load_lineup(tmp_path / "l.toml").guests
    line = "hello --name box --ram 16 --disk b.img --remedy pv --no-net --max-insns 9 --gdb 1234"
    assert from_file == parse_guest_line(line)
