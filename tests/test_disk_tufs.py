"""tuivmm/disk/tufs.py: the unix guest's disk images, made and read from the host."""

import os
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuivmm.disk import tufs
from tuivmm.disk.tufs import BSIZE, MAXFILE, DiskError, mkfs, open_image

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def img(tmp_path: Path) -> Path:
    path = tmp_path / "disk.img"
    mkfs(path)
    return path


def patterned(n: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


# --- round trips ---------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, BSIZE, BSIZE + 1, tufs.NDIRECT * BSIZE + 1, MAXFILE])
def test_file_reads_back_what_was_written(img: Path, size: int) -> None:
    data = patterned(size)
    open_image(img).write_file("f", data)
    disk = open_image(img)
    assert disk.read_file("f") == data
    assert disk.check() == []


def test_one_byte_more_than_the_largest_file_is_refused(img: Path) -> None:
    before = img.read_bytes()
    with pytest.raises(DiskError, match="file too large"):
        open_image(img).write_file("f", bytes(MAXFILE + 1))
    assert img.read_bytes() == before


def test_new_image_has_an_empty_sound_root(img: Path) -> None:
    disk = open_image(img)
    assert disk.list() == []
    assert disk.check() == []
    assert (disk.size, disk.ninodes, disk.datastart) == (2048, 256, 19)


def test_list_gives_name_size_and_inode_in_directory_order(img: Path) -> None:
    disk = open_image(img)
    disk.write_file("b", b"xy")
    disk.write_file("a", b"")
    assert disk.list() == [("b", 2, 2), ("a", 0, 3)]


def test_write_replaces_content_and_keeps_the_inode(img: Path) -> None:
    disk = open_image(img)
    disk.write_file("f", patterned(5000))
    disk.write_file("f", b"short")
    assert open_image(img).list() == [("f", 5, 2)]
    assert open_image(img).read_file("f") == b"short"
    assert open_image(img).check() == []


def test_remove_frees_blocks_and_the_name(img: Path) -> None:
    disk = open_image(img)
    free = disk.free_blocks()
    disk.write_file("big", patterned(100_000))
    assert disk.free_blocks() < free
    disk.remove("big")
    disk = open_image(img)
    assert disk.free_blocks() == free
    assert disk.list() == []
    assert disk.check() == []
    with pytest.raises(DiskError, match="big: no such file"):
        disk.read_file("big")


def test_removed_slot_is_reused(img: Path) -> None:
    disk = open_image(img)
    for name in ("a", "b", "c"):
        disk.write_file(name, name.encode())
    disk.remove("b")
    disk.write_file("d", b"d")
    assert [name for name, _, _ in disk.list()] == ["a", "d", "c"]


def test_root_directory_grows_past_one_block(img: Path) -> None:
    disk = open_image(img)
    names = [f"file{i}" for i in range(100)]  # 102 entries of 16 bytes: two blocks
    for name in names:
        disk.write_file(name, name.encode())
    disk = open_image(img)
    assert [n for n, _, _ in disk.list()] == names
    assert disk.read_file("file99") == b"file99"
    assert disk.check() == []


@pytest.mark.parametrize("name", ["", "x" * 15, ".", "..", "a/b", "a b", "caf\u00e9"])
def test_bad_names_are_refused(img: Path, name: str) -> None:
    with pytest.raises(DiskError, match="bad file name"):
        open_image(img).write_file(name, b"")


def test_fourteen_character_name_round_trips(img: Path) -> None:
    open_image(img).write_file("x" * 14, b"!")
    assert open_image(img).read_file("x" * 14) == b"!"


# --- disk full ------------------------------------------------------------------


def test_disk_full_leaves_the_image_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "small.img"
    disk = mkfs(path, size_blocks=64)
    disk.write_file("a", patterned(20 * BSIZE))
    before = path.read_bytes()
    with pytest.raises(DiskError, match="disk full"):
        disk.write_file("b", patterned(60 * BSIZE))
    assert path.read_bytes() == before
    assert disk.image == before  # the open Disk is unchanged too
    assert disk.list() == [("a", 20 * BSIZE, 2)]
    assert sorted(os.listdir(tmp_path)) == ["small.img"]  # no temporary left behind


def test_running_out_of_inodes_is_disk_full(tmp_path: Path) -> None:
    disk = mkfs(tmp_path / "few.img", size_blocks=64, ninodes=4)  # inodes 2 and 3 usable
    disk.write_file("a", b"")
    disk.write_file("b", b"")
    with pytest.raises(DiskError, match="disk full: no free inodes"):
        disk.write_file("c", b"")


def test_replacing_a_file_may_reuse_its_own_blocks(tmp_path: Path) -> None:
    disk = mkfs(tmp_path / "small.img", size_blocks=64)
    room = (disk.free_blocks() - 1) * BSIZE  # one block goes to the indirect block
    disk.write_file("a", bytes(room))
    disk.write_file("a", patterned(room))
    assert disk.read_file("a") == patterned(room)


# --- check() ---------------------------------------------------------------------


def test_check_finds_a_block_free_in_the_bitmap_but_used(img: Path) -> None:
    disk = open_image(img)
    disk.write_file("f", b"data")
    block = disk._iget(2).addrs[0]
    disk._mark(block, False)
    assert disk.check() == [f"block {block} is used by inode 2 but free in the bitmap"]


def test_check_finds_a_block_marked_but_unreferenced(img: Path) -> None:
    disk = open_image(img)
    disk._mark(1000, True)
    assert disk.check() == ["block 1000 is marked in use but no inode references it"]


def test_check_finds_a_doubly_referenced_block(img: Path) -> None:
    disk = open_image(img)
    disk.write_file("a", b"aaa")
    disk.write_file("b", b"bbb")
    b_inode = disk._iget(3)
    freed = b_inode.addrs[0]
    b_inode.addrs[0] = disk._iget(2).addrs[0]
    disk._iput(3, b_inode)
    problems = disk.check()
    assert f"block {b_inode.addrs[0]} is referenced twice (inodes 2 and 3)" in problems
    assert f"block {freed} is marked in use but no inode references it" in problems


def test_check_finds_an_entry_naming_a_free_inode(img: Path) -> None:
    disk = open_image(img)
    disk.write_file("f", b"")
    disk._iput(2, tufs.Inode(bytes(tufs.INODE_SIZE)))
    assert "directory 1: 'f' names inode 2, which is free" in disk.check()


def test_check_finds_a_wrong_link_count(img: Path) -> None:
    disk = open_image(img)
    disk.write_file("f", b"")
    ip = disk._iget(2)
    ip.nlink = 2
    disk._iput(2, ip)
    assert disk.check() == ["inode 2: nlink is 2 but 1 entries name it"]


# --- images that are not ours ---------------------------------------------------------


def superblock_patched(path: Path, field: int, value: int) -> None:
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, BSIZE + 4 * field, value)
    path.write_bytes(raw)


def test_missing_image(tmp_path: Path) -> None:
    with pytest.raises(DiskError, match="no such file"):
        open_image(tmp_path / "nope.img")


@pytest.mark.parametrize("content", [b"", os.urandom(100), bytes(BSIZE * 2), bytes(BSIZE * 3 + 1)])
def test_wrong_sized_files_are_not_images(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.img"
    path.write_bytes(content)
    with pytest.raises(DiskError, match="not a tuivmm unix disk image .* whole number"):
        open_image(path)


def test_random_bytes_are_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "x.img"
    path.write_bytes(b"\x12\x34\x56\x78" + os.urandom(BSIZE * 8 - 4))
    raw = bytearray(path.read_bytes())
    raw[BSIZE : BSIZE + 4] = b"RAND"
    path.write_bytes(raw)
    with pytest.raises(DiskError, match="not a tuivmm unix disk image \\(bad magic"):
        open_image(path)


def test_wrong_magic(img: Path) -> None:
    superblock_patched(img, 0, 0xDEADBEEF)
    with pytest.raises(DiskError, match="bad magic 0xdeadbeef"):
        open_image(img)


def test_unsupported_version(img: Path) -> None:
    superblock_patched(img, 1, 2)
    with pytest.raises(DiskError, match="unsupported disk image version 2"):
        open_image(img)


def test_truncated_image(img: Path) -> None:
    img.write_bytes(img.read_bytes()[: BSIZE * 100])
    with pytest.raises(DiskError, match="corrupt superblock: size says 2048 blocks but the file has 100"):
        open_image(img)


@pytest.mark.parametrize(("field", "value"), [(3, 0), (3, 100_000), (4, 3), (5, 0), (6, 5000)])
def test_superblock_fields_out_of_range(img: Path, field: int, value: int) -> None:
    superblock_patched(img, field, value)
    with pytest.raises(DiskError, match="corrupt superblock"):
        open_image(img)


def test_mkfs_refuses_to_overwrite(img: Path) -> None:
    with pytest.raises(DiskError, match="already exists"):
        mkfs(img)


def test_mkfs_refuses_a_disk_too_small_for_its_metadata(tmp_path: Path) -> None:
    with pytest.raises(DiskError, match="bad size 3 blocks"):
        mkfs(tmp_path / "x.img", size_blocks=3)


# --- random sequences against a model -------------------------------------------------

names = st.sampled_from(["a", "b", "c", "d", "e", "long-name-1234"])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), names, st.integers(0, 40 * BSIZE), st.integers(0, 255)),
        st.tuples(st.just("rm"), names, st.just(0), st.just(0)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_random_puts_and_removes_match_a_dict(ops: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "disk.img"
        disk = mkfs(path, size_blocks=96, ninodes=16)  # small enough to fill
        start_free = disk.free_blocks()
        model: dict[str, bytes] = {}
        for op, name, size, seed in ops:
            before = path.read_bytes()
            try:
                if op == "put":
                    disk.write_file(name, patterned(size, seed))
                    model[name] = patterned(size, seed)
                else:
                    disk.remove(name)
                    del model[name]
            except DiskError as exc:
                assert "disk full" in str(exc) or "no such file" in str(exc)
                assert path.read_bytes() == before
            disk = open_image(path)
            assert {n: disk.read_file(n) for n, _, _ in disk.list()} == model
            assert disk.check() == []
        for name in list(model):
            disk.remove(name)
        assert disk.free_blocks() == start_free


# --- the command line -------------------------------------------------------------------


def disk_tool(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "tuivmm.disk", *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=60, check=False)  # fmt: skip


def test_cli_create_put_ls_cat_get_rm_check(tmp_path: Path) -> None:
    image, host = str(tmp_path / "d.img"), tmp_path / "hello.txt"
    host.write_bytes(b"hello, disk\n")
    assert disk_tool("create", image, "--size-kib", "512").returncode == 0
    assert os.path.getsize(image) == 512 * 1024
    assert disk_tool("put", image, str(host)).returncode == 0
    assert disk_tool("put", image, str(host), "copy").returncode == 0
    listing = disk_tool("ls", image).stdout.decode().splitlines()
    assert [line.split()[:2] for line in listing] == [["hello.txt", "12"], ["copy", "12"]]
    assert disk_tool("cat", image, "copy").stdout == b"hello, disk\n"
    assert disk_tool("get", image, "hello.txt", str(tmp_path / "out")).returncode == 0
    assert (tmp_path / "out").read_bytes() == b"hello, disk\n"
    assert disk_tool("rm", image, "copy").returncode == 0
    check = disk_tool("check", image)
    assert check.returncode == 0 and b"clean" in check.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ls", "{tmp}/missing.img"], "no such file"),
        (["cat", "{img}", "nope"], "nope: no such file"),
        (["rm", "{img}", "nope"], "nope: no such file"),
        (["put", "{img}", "{tmp}/no-host-file"], "No such file or directory"),
        (["put", "{img}", "{img}", "bad/name"], "bad file name"),
        (["create", "{img}"], "already exists"),
        (["create", "{tmp}/x.img", "--size-kib", "2"], "bad size 2 blocks"),
        (["ls", "{junk}"], "not a tuivmm unix disk image"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    image, junk = tmp_path / "d.img", tmp_path / "junk.img"
    mkfs(image, size_blocks=64)
    junk.write_bytes(bytes(BSIZE * 4))
    run = disk_tool(*(a.format(tmp=tmp_path, img=image, junk=junk) for a in args))
    err = run.stderr.decode()
    assert run.returncode != 0
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_cli_check_reports_problems_and_fails(tmp_path: Path) -> None:
    image = tmp_path / "d.img"
    disk = mkfs(image, size_blocks=64)
    disk._mark(40, True)
    disk.save()
    run = disk_tool("check", str(image))
    assert run.returncode == 1
    assert b"block 40 is marked in use but no inode references it" in run.stdout


# --- fs.h, the kernel's copy of the format ------------------------------------------------


def test_fs_h_constants_equal_diskfs() -> None:
    header = (ROOT / "guests/unix/fs.h").read_text()
    defines = re.findall(r"^#define\s+([A-Z_][A-Z0-9_]*)\s+(.+?)\s*(?://.*)?$", header, re.MULTILINE)
    assert len(defines) >= 15
    values: dict[str, int] = {}
    for name, expr in defines:
        values[name] = eval(expr.replace("/", "//"), {}, dict(values))  # our own header
        assert values[name] == getattr(tufs, name), name


# --- the same tool as `tuivmm disk`, and a guest reading what the host put there ---------


def tuivmm_disk(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "tuivmm", "disk", *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=60, check=False)  # fmt: skip


def test_tuivmm_disk_prepares_a_file_the_unix_guest_reads(tmp_path: Path) -> None:
    image, host = str(tmp_path / "d.img"), tmp_path / "notes.txt"
    host.write_bytes(b"prepared on the host\n")
    assert tuivmm_disk("create", image).returncode == 0
    assert tuivmm_disk("put", image, str(host)).returncode == 0
    listing = tuivmm_disk("list", image).stdout.decode().split()
    assert listing[:2] == ["notes.txt", "21"]
    # The guest sees the file, and writes one of its own, which the host then copies out.
    run = subprocess.run([sys.executable, "-m", "tuivmm", "run", "unix", "--disk", image, "--no-net"],
                         input=b"cat notes.txt\nwrite back.txt from the guest\nshutdown\n", cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert b"[unix] prepared on the host" in run.stdout
    out = tmp_path / "back.txt"
    got = subprocess.run([sys.executable, "-m", "tuivmm", "disk", "get", image, "back.txt", str(out)], cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, timeout=60)  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == b"from the guest\n"
    assert tuivmm_disk("check", image).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ls", "{tmp}/missing.img"], "no such file"),
        (["get", "{img}", "nope", "{tmp}/out"], "nope: no such file"),
        (["create", "{img}"], "already exists"),
        (["ls", "{junk}"], "not a tuivmm unix disk image"),
        (["put", "{img}", "{tmp}/no-host-file"], "No such file or directory"),
    ],
)
def test_tuivmm_disk_errors_are_one_line_with_status_2(tmp_path: Path, args: list[str], message: str) -> None:
    img, junk = tmp_path / "d.img", tmp_path / "junk.img"
    mkfs(img, 64)
    junk.write_bytes(b"\x01" * 3000)
    before = img.read_bytes()
    result = tuivmm_disk(*(a.format(tmp=tmp_path, img=img, junk=junk) for a in args))
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("tuivmm: ") and message in lines[0], lines
    assert img.read_bytes() == before
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "target", "why"),
    [
        (["create", "{tmp}/no/such/dir/x.img"], "{tmp}/no/such/dir/x.img", "no such directory {tmp}/no/such/dir"),
        (["create", "{tmp}/afile/x.img"], "{tmp}/afile/x.img", "{tmp}/afile is not a directory"),
        (["get", "{img}", "f", "{tmp}/no/dir/f"], "{tmp}/no/dir/f", "no such directory {tmp}/no/dir"),
        (["get", "{img}", "f", "{tmp}/afile/f"], "{tmp}/afile/f", "{tmp}/afile is not a directory"),
    ],
)
def test_a_file_in_a_directory_that_is_not_there_is_one_line_naming_that_directory(
    tmp_path: Path, args: list[str], target: str, why: str
) -> None:
    img = tmp_path / "d.img"
    mkfs(img, 64).write_file("f", b"in the image\n")
    (tmp_path / "afile").write_bytes(b"a plain file\n")
    before = sorted(tmp_path.iterdir())
    result = tuivmm_disk(*(a.format(tmp=tmp_path, img=img) for a in args))
    assert result.returncode == 2
    target, why = target.format(tmp=tmp_path), why.format(tmp=tmp_path)
    assert result.stderr.decode() == f"tuivmm: {target}: cannot write it there: {why}\n"  # no temporary file named
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize("args", [["put", "{img}", "{host}"], ["rm", "{img}", "f"]])
def test_a_change_that_cannot_be_saved_names_the_image_not_its_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    from tuivmm.cli.commands import main
    from tuivmm.disk import tool

    folder, moved = tmp_path / "disks", tmp_path / "moved"
    folder.mkdir()
    img, host = folder / "d.img", tmp_path / "host.txt"
    mkfs(img, 64).write_file("f", b"in the image\n")
    host.write_bytes(b"from the host\n")
    real_open = tool.open_image

    def open_then_lose_the_folder(path):
        disk = real_open(path)
        folder.rename(moved)  # the image's directory goes away while the tool holds the image
        return disk

    monkeypatch.setattr(tool, "open_image", open_then_lose_the_folder)
    status = main(["disk", *(a.format(img=img, host=host) for a in args)])
    assert status == 2
    assert capsys.readouterr().err == f"tuivmm: {img}: cannot write it there: no such directory {folder}\n"
    assert [p.name for p in moved.iterdir()] == ["d.img"]  # nothing left beside it


def test_get_keeps_a_host_file_that_is_there_unless_forced(tmp_path: Path) -> None:
    img, out = tmp_path / "d.img", tmp_path / "out.txt"
    mkfs(img, 64).write_file("f", b"from the image\n")
    out.write_bytes(b"the user's own file\n")
    refused = tuivmm_disk("get", str(img), "f", str(out))
    assert refused.returncode == 2
    assert refused.stderr.decode() == f"tuivmm: {out}: already exists; --force overwrites it\n"
    assert out.read_bytes() == b"the user's own file\n"
    forced = tuivmm_disk("get", str(img), "f", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.read_bytes() == b"from the image\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.img", "out.txt"]  # written aside, renamed


def test_get_without_a_host_file_keeps_the_one_of_that_name_in_the_current_directory(tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    mkfs(img, 64).write_file("f", b"from the image\n")
    (tmp_path / "f").write_bytes(b"the user's own file\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    refused = subprocess.run([sys.executable, "-m", "tuivmm", "disk", "get", str(img), "f"], cwd=tmp_path, env=env,
                             capture_output=True, timeout=60, check=False)  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.decode() == "tuivmm: f: already exists; --force overwrites it\n"
    assert (tmp_path / "f").read_bytes() == b"the user's own file\n"
