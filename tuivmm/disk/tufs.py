"""Disk images of the `unix` guest's file system (TUFS), made and read from the host.

The format is the contract with the kernel's driver; guests/unix/fs.h says the same in C
and tests/test_disk_tufs.py checks that the two agree.  It is xv6's file system without the
log: fixed-size inodes, a free-block bitmap, directories of fixed-size entries.

All integers are little-endian; a block is 1024 bytes; block numbers count from the
start of the image.  An image of `size` blocks is laid out as:

    block          holds
    -------------  ---------------------------------------------------------------
    0              unused (room for a boot block)
    1              superblock, 7 x u32 then zeros:
                     magic      0x53465554 ("TUFS" as bytes on disk)
                     version    1
                     size       blocks in the image (= file length / 1024)
                     ninodes    inode slots, including the never-used inode 0
                     inodestart 2
                     bmapstart  inodestart + ceil(ninodes / 16)
                     datastart  bmapstart + ceil(size / 8192)
    2 ..           inode table: 16 inodes of 64 bytes per block, inode i at byte
                   (i % 16) * 64 of block inodestart + i / 16:
                     u16 type     0 free, 1 directory, 2 file
                     u16 nlink    directory entries naming this inode
                     u32 size     bytes of content
                     u32 addrs[13] direct block numbers (0 = none)
                     u32 indirect  a block of 256 more block numbers (0 = none)
    bmapstart ..   free bitmap: bit b % 8 of byte b / 8 (of the bitmap as one byte
                   string) is 1 when block b is in use; blocks 0 .. datastart-1 are
                   always marked in use; bits for blocks >= size are 0 and ignored
    datastart ..   data blocks: file content, directory entries, indirect blocks

A file's byte k lives in its (k / 1024)'th block: addrs[0..12] then the indirect
block's 256 entries, so a file holds at most (13 + 256) * 1024 = 275456 bytes.  Blocks
past the end of the content are 0; a block is never shared.

A directory is a file of 16-byte entries: u16 inode number (0 = empty slot) and a
14-byte name, zero-padded (not terminated when 14 bytes long).  Names are 1-14 printable
ASCII characters other than '/' and space.  Every directory begins with "." (itself) and
".." (its parent); the root directory is inode 1 and its ".." is itself.  Removing a
name zeroes its entry; directories never shrink.  Only the root holds names today, but
nothing in the format forbids subdirectories.

Changes are made to a copy of the image in memory and then written whole to a temporary
file beside it, which replaces the image (os.replace): an image is never half-written,
and a failed change (disk full, file too large) leaves it byte-for-byte unchanged.

Command line (errors are one line on stderr and a non-zero exit):

    tuivmm disk create IMG [--size-kib N]
    tuivmm disk ls|check IMG
    tuivmm disk cat|rm IMG NAME
    tuivmm disk put IMG HOSTFILE [NAME]
    tuivmm disk get IMG NAME [HOSTFILE] [--force]
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from pathlib import Path

BSIZE = 1024
FS_MAGIC = 0x53465554  # b"TUFS" little-endian
FS_VERSION = 1
SUPERBLOCK = 1  # block number of the superblock
INODESTART = 2
NDIRECT = 13
NINDIRECT = BSIZE // 4
MAXFILE = (NDIRECT + NINDIRECT) * BSIZE
INODE_SIZE = 64
IPB = BSIZE // INODE_SIZE  # inodes per block
BPB = BSIZE * 8  # bitmap bits per block
DIRSIZ = 14
DIRENT_SIZE = 16
ROOTINO = 1
T_FREE, T_DIR, T_FILE = 0, 1, 2
MAXINODES = 0xFFFF  # inode numbers are u16 in directory entries

DEFAULT_SIZE_BLOCKS = 2048  # 2 MiB
MAX_SIZE_BLOCKS = 65536  # 64 MiB: the tool holds an image in memory

_SUPER = struct.Struct("<7I")
_INODE = struct.Struct(f"<HHI{NDIRECT + 1}I")
_DIRENT = struct.Struct(f"<H{DIRSIZ}s")
assert _INODE.size == INODE_SIZE and _DIRENT.size == DIRENT_SIZE


class DiskError(Exception):
    """A problem with an image or a request, said in one line for a person."""


def cannot_write(path: Path, exc: OSError) -> DiskError:
    """The one line for a file (an image, or a host file copied out) that could not be
    written at `path`: about `path` and its directory, never the temporary file beside
    it that the error came from."""
    parent = path.parent
    if not parent.is_dir():
        why = f"{parent} is not a directory" if parent.exists() else f"no such directory {parent}"
        return DiskError(f"{path}: cannot write it there: {why}")
    return DiskError(f"{path}: cannot write it: {exc.strerror or exc}")


def layout(size_blocks: int, ninodes: int) -> tuple[int, int, int]:
    """(inodestart, bmapstart, datastart) of an image of this size and inode count."""
    bmapstart = INODESTART + -(-ninodes // IPB)
    datastart = bmapstart + -(-size_blocks // BPB)
    return INODESTART, bmapstart, datastart


def default_ninodes(size_blocks: int) -> int:
    """One inode per 8 blocks (256 for 2 MiB), a whole number of inode blocks."""
    return min(MAXINODES // IPB * IPB, max(IPB, -(-(size_blocks // 8) // IPB) * IPB))


def _check_name(name: str) -> bytes:
    if not 1 <= len(name) <= DIRSIZ:
        raise DiskError(f"bad file name {name!r}: must be 1 to {DIRSIZ} characters")
    if name in (".", "..") or any(not "!" <= c <= "~" or c == "/" for c in name):
        raise DiskError(f"bad file name {name!r}: use printable ASCII without '/' or spaces")
    return name.encode("ascii")


class Inode:
    """One on-disk inode, unpacked; `pack` turns it back into 64 bytes."""

    def __init__(self, raw: bytes) -> None:
        fields = _INODE.unpack(raw)
        self.type, self.nlink, self.size = fields[0], fields[1], fields[2]
        self.addrs = list(fields[3 : 3 + NDIRECT])
        self.indirect = fields[3 + NDIRECT]

    def pack(self) -> bytes:
        return _INODE.pack(self.type, self.nlink, self.size, *self.addrs, self.indirect)


class Disk:
    """An open image: the whole of it in memory, written back atomically on change."""

    def __init__(self, path: Path, image: bytearray) -> None:
        self.path = path
        self.image = image
        (_, _, self.size, self.ninodes, self.inodestart, self.bmapstart,
         self.datastart) = _SUPER.unpack_from(image, SUPERBLOCK * BSIZE)  # fmt: skip

    # --- blocks and the bitmap -------------------------------------------------

    def _block(self, b: int) -> memoryview:
        return memoryview(self.image)[b * BSIZE : (b + 1) * BSIZE]

    def _in_use(self, b: int) -> bool:
        return bool(self.image[self.bmapstart * BSIZE + b // 8] >> (b % 8) & 1)

    def _mark(self, b: int, used: bool) -> None:
        at = self.bmapstart * BSIZE + b // 8
        if used:
            self.image[at] |= 1 << (b % 8)
        else:
            self.image[at] &= ~(1 << (b % 8)) & 0xFF

    def free_blocks(self) -> int:
        """How many data blocks are free."""
        return sum(not self._in_use(b) for b in range(self.datastart, self.size))

    def _balloc(self) -> int:
        """A zeroed free data block, now marked in use; DiskError when there is none."""
        for b in range(self.datastart, self.size):
            if not self._in_use(b):
                self._mark(b, True)
                self._block(b)[:] = bytes(BSIZE)
                return b
        raise DiskError("disk full")

    # --- inodes ----------------------------------------------------------------

    def _inode_at(self, inum: int) -> int:
        return (self.inodestart + inum // IPB) * BSIZE + inum % IPB * INODE_SIZE

    def _iget(self, inum: int) -> Inode:
        at = self._inode_at(inum)
        return Inode(bytes(self.image[at : at + INODE_SIZE]))

    def _iput(self, inum: int, ip: Inode) -> None:
        at = self._inode_at(inum)
        self.image[at : at + INODE_SIZE] = ip.pack()

    def _ialloc(self, type_: int) -> int:
        for inum in range(ROOTINO + 1, self.ninodes):
            if self._iget(inum).type == T_FREE:
                ip = Inode(bytes(INODE_SIZE))
                ip.type, ip.nlink = type_, 1
                self._iput(inum, ip)
                return inum
        raise DiskError("disk full: no free inodes")

    def _blocks_of(self, ip: Inode) -> list[int]:
        """The content blocks of an inode, in file order (not the indirect block)."""
        count = -(-ip.size // BSIZE)
        blocks = ip.addrs[: min(count, NDIRECT)]
        if count > NDIRECT:
            blocks += list(struct.unpack_from(f"<{count - NDIRECT}I", self._block(ip.indirect)))
        return blocks

    def _read(self, ip: Inode) -> bytes:
        content = b"".join(bytes(self._block(b)) for b in self._blocks_of(ip))
        return content[: ip.size]

    def _truncate(self, ip: Inode) -> None:
        """Free every block of `ip` and make it empty."""
        for b in self._blocks_of(ip) + ([ip.indirect] if ip.indirect else []):
            self._mark(b, False)
        ip.size, ip.addrs, ip.indirect = 0, [0] * NDIRECT, 0

    def _fill(self, ip: Inode, data: bytes) -> None:
        """Give an empty `ip` the content `data`, allocating its blocks."""
        if len(data) > MAXFILE:
            raise DiskError(f"file too large: {len(data)} bytes, the most is {MAXFILE}")
        blocks = []
        for off in range(0, len(data), BSIZE):
            b = self._balloc()
            chunk = data[off : off + BSIZE]
            self._block(b)[: len(chunk)] = chunk
            blocks.append(b)
        ip.addrs = blocks[:NDIRECT] + [0] * (NDIRECT - len(blocks[:NDIRECT]))
        if len(blocks) > NDIRECT:
            ip.indirect = self._balloc()
            rest = blocks[NDIRECT:]
            struct.pack_into(f"<{len(rest)}I", self._block(ip.indirect), 0, *rest)
        ip.size = len(data)

    # --- the root directory ----------------------------------------------------

    def _entries(self, dinum: int = ROOTINO) -> list[tuple[int, bytes]]:
        """(inode number, name) of every slot of a directory, empty ones included."""
        content = self._read(self._iget(dinum))
        return [_DIRENT.unpack_from(content, off) for off in range(0, len(content) - 15, DIRENT_SIZE)]

    def _lookup(self, name: str) -> tuple[int, int]:
        """(slot, inode number) of `name` in the root; DiskError if it is not there."""
        raw = _check_name(name)
        for slot, (inum, dname) in enumerate(self._entries()):
            if inum and dname.rstrip(b"\0") == raw:
                return slot, inum
        raise DiskError(f"{name}: no such file")

    def _set_entries(self, entries: list[tuple[int, bytes]]) -> None:
        root = self._iget(ROOTINO)
        self._truncate(root)
        self._fill(root, b"".join(_DIRENT.pack(inum, name) for inum, name in entries))
        self._iput(ROOTINO, root)

    # --- what a user asks for --------------------------------------------------

    def list(self) -> list[tuple[str, int, int]]:
        """(name, size in bytes, inode number) of each name in the root, in directory order."""
        names = []
        for inum, raw in self._entries():
            name = raw.rstrip(b"\0").decode("ascii", "replace")
            if inum and name not in (".", ".."):
                size = self._iget(inum).size if inum < self.ninodes else 0
                names.append((name, size, inum))
        return names

    def read_file(self, name: str) -> bytes:
        """The content of file `name` in the root."""
        _, inum = self._lookup(name)
        ip = self._iget(inum)
        if ip.type != T_FILE:
            raise DiskError(f"{name}: not a regular file")
        return self._read(ip)

    def write_file(self, name: str, data: bytes) -> None:
        """Make file `name` hold `data`, creating it or replacing what it held."""
        raw = _check_name(name)
        if len(data) > MAXFILE:
            raise DiskError(f"file too large: {len(data)} bytes, the most is {MAXFILE}")
        with self._change():
            try:
                _, inum = self._lookup(name)
            except DiskError:
                inum = self._ialloc(T_FILE)
                entries = self._entries()
                free = [i for i, (n, _) in enumerate(entries) if n == 0]
                if free:
                    entries[free[0]] = (inum, raw)
                else:
                    entries.append((inum, raw))
                self._set_entries(entries)
            ip = self._iget(inum)
            if ip.type != T_FILE:
                raise DiskError(f"{name}: not a regular file")
            self._truncate(ip)
            self._fill(ip, data)
            self._iput(inum, ip)

    def remove(self, name: str) -> None:
        """Remove file `name` from the root and free its inode and blocks."""
        with self._change():
            slot, inum = self._lookup(name)
            ip = self._iget(inum)
            if ip.type != T_FILE:
                raise DiskError(f"{name}: not a regular file")
            entries = self._entries()
            entries[slot] = (0, bytes(DIRSIZ))
            self._set_entries(entries)
            ip.nlink -= 1
            if ip.nlink == 0:
                self._truncate(ip)
                ip = Inode(bytes(INODE_SIZE))
            self._iput(inum, ip)

    def _change(self) -> _Change:
        return _Change(self)

    def save(self) -> None:
        """Write the image to a temporary file beside it, then put that in its place;
        DiskError (naming the image, never the temporary file) if it cannot be."""
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        except OSError as exc:
            raise cannot_write(self.path, exc) from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.image)
                f.flush()
                os.fsync(f.fileno())
            if self.path.exists():
                os.chmod(tmp, self.path.stat().st_mode & 0o7777)
            os.replace(tmp, self.path)
        except BaseException as exc:
            with contextlib.suppress(OSError):  # its directory may have gone with it
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise cannot_write(self.path, exc) from None
            raise

    # --- fsck ------------------------------------------------------------------

    def check(self) -> list[str]:
        """Every inconsistency found, one line each; [] for a sound image."""
        problems: list[str] = []
        owner: dict[int, int] = {}  # block -> the inode that references it
        links: dict[int, int] = {}  # inode -> directory entries naming it

        def claim(b: int, inum: int, what: str) -> bool:
            if not self.datastart <= b < self.size:
                problems.append(f"inode {inum}: {what} block {b} is outside the data area")
                return False
            if b in owner:
                problems.append(f"block {b} is referenced twice (inodes {owner[b]} and {inum})")
            elif not self._in_use(b):
                problems.append(f"block {b} is used by inode {inum} but free in the bitmap")
            owner.setdefault(b, inum)
            return True

        if self._iget(ROOTINO).type != T_DIR:
            problems.append(f"inode {ROOTINO}: the root is not a directory")
        for inum in range(1, self.ninodes):
            ip = self._iget(inum)
            if ip.type == T_FREE:
                continue
            found = len(problems)
            if ip.type not in (T_DIR, T_FILE):
                problems.append(f"inode {inum}: unknown type {ip.type}")
                continue
            if ip.size > MAXFILE:
                problems.append(f"inode {inum}: size {ip.size} is more than the most, {MAXFILE}")
                continue
            count = -(-ip.size // BSIZE)
            for i, b in enumerate(ip.addrs):
                if i < count and b == 0:
                    problems.append(f"inode {inum}: block {i} of its content is missing")
                elif i >= count and b != 0:
                    problems.append(f"inode {inum}: block {b} lies past its size")
                elif b:
                    claim(b, inum, "direct")
            if (count > NDIRECT) != (ip.indirect != 0):
                problems.append(f"inode {inum}: indirect block {ip.indirect} does not match its size")
            elif ip.indirect and claim(ip.indirect, inum, "indirect"):
                table = struct.unpack_from(f"<{NINDIRECT}I", self._block(ip.indirect))
                for i, b in enumerate(table):
                    if i < count - NDIRECT and b == 0:
                        problems.append(f"inode {inum}: block {NDIRECT + i} of its content is missing")
                    elif i >= count - NDIRECT and b != 0:
                        problems.append(f"inode {inum}: block {b} lies past its size")
                    elif b:
                        claim(b, inum, "data")
            if ip.type == T_DIR and len(problems) == found:  # its blocks are sound to read
                problems += self._check_dir(inum, ip, links)

        for b in range(self.size):
            marked = self._in_use(b)
            if b < self.datastart and not marked:
                problems.append(f"block {b} holds metadata but is free in the bitmap")
            elif b >= self.datastart and marked and b not in owner:
                problems.append(f"block {b} is marked in use but no inode references it")
        for inum in range(1, self.ninodes):
            ip = self._iget(inum)
            if ip.type in (T_DIR, T_FILE) and ip.nlink != links.get(inum, 0):
                problems.append(f"inode {inum}: nlink is {ip.nlink} but {links.get(inum, 0)} entries name it")
        return problems

    def _check_dir(self, dinum: int, dp: Inode, links: dict[int, int]) -> list[str]:
        """Problems in one directory's entries; counts the links it makes in `links`."""
        if dp.size % DIRENT_SIZE:
            return [f"directory {dinum}: size {dp.size} is not a whole number of entries"]
        problems = []
        entries = [(n, raw.rstrip(b"\0")) for n, raw in self._entries(dinum)]
        if entries[:1] != [(dinum, b".")] or len(entries) < 2 or entries[1][1] != b"..":
            problems.append(f"directory {dinum}: does not begin with '.' and '..'")
        if dinum == ROOTINO and entries[1:2] != [(ROOTINO, b"..")]:
            problems.append("root directory: '..' is not the root itself")
        for inum, name in entries:
            if inum == 0:
                continue
            shown = name.decode("ascii", "replace")
            if not inum < self.ninodes:
                problems.append(f"directory {dinum}: '{shown}' names inode {inum}, beyond the table")
            elif self._iget(inum).type == T_FREE:
                problems.append(f"directory {dinum}: '{shown}' names inode {inum}, which is free")
            else:
                links[inum] = links.get(inum, 0) + 1
        return problems


class _Change:
    """A `with` block over a copy of the image: kept and saved only if no error escapes."""

    def __init__(self, disk: Disk) -> None:
        self.disk = disk

    def __enter__(self) -> None:
        self.before = self.disk.image
        self.disk.image = bytearray(self.before)

    def __exit__(self, kind, value, tb) -> None:
        if kind is not None:
            self.disk.image = self.before
            return
        try:
            self.disk.save()
        except BaseException:
            self.disk.image = self.before
            raise


def mkfs(path: str | os.PathLike, size_blocks: int = DEFAULT_SIZE_BLOCKS, ninodes: int | None = None) -> Disk:
    """Make a new, empty image at `path` (which must not exist yet) and return it open."""
    path = Path(path)
    ninodes = default_ninodes(size_blocks) if ninodes is None else ninodes
    if not 2 <= ninodes <= MAXINODES:
        raise DiskError(f"bad inode count {ninodes}: must be 2 to {MAXINODES}")
    _, bmapstart, datastart = layout(size_blocks, ninodes)
    if not datastart < size_blocks <= MAX_SIZE_BLOCKS:
        raise DiskError(f"bad size {size_blocks} blocks: must be {datastart + 1} to {MAX_SIZE_BLOCKS}")
    if path.exists():
        raise DiskError(f"{path} already exists; remove it first")
    image = bytearray(size_blocks * BSIZE)
    _SUPER.pack_into(image, SUPERBLOCK * BSIZE, FS_MAGIC, FS_VERSION, size_blocks, ninodes,
                     INODESTART, bmapstart, datastart)  # fmt: skip
    disk = Disk(path, image)
    for b in range(datastart):
        disk._mark(b, True)
    root = Inode(bytes(INODE_SIZE))
    root.type, root.nlink = T_DIR, 2  # named by its own "." and ".."
    disk._fill(root, _DIRENT.pack(ROOTINO, b".") + _DIRENT.pack(ROOTINO, b".."))
    disk._iput(ROOTINO, root)
    disk.save()
    return disk


def open_image(path: str | os.PathLike) -> Disk:
    """Open an existing image, checking its superblock; DiskError says what is wrong."""
    path = Path(path)
    try:
        image = bytearray(path.read_bytes())
    except FileNotFoundError:
        raise DiskError(f"{path}: no such file") from None
    except OSError as exc:
        raise DiskError(f"{path}: {exc.strerror}") from None
    if len(image) % BSIZE or len(image) < 3 * BSIZE:
        raise DiskError(f"{path}: not a tuivmm unix disk image ({len(image)} bytes is not "
                        f"a whole number of {BSIZE}-byte blocks, at least 3)")  # fmt: skip
    magic, version, size, ninodes, inodestart, bmapstart, datastart = _SUPER.unpack_from(image, SUPERBLOCK * BSIZE)
    if magic != FS_MAGIC:
        raise DiskError(f"{path}: not a tuivmm unix disk image (bad magic {magic:#010x})")
    if version != FS_VERSION:
        raise DiskError(f"{path}: unsupported disk image version {version} (this tool reads {FS_VERSION})")
    blocks = len(image) // BSIZE
    if size != blocks:
        raise DiskError(f"{path}: corrupt superblock: size says {size} blocks but the file has {blocks}")
    if not 2 <= ninodes <= MAXINODES:
        raise DiskError(f"{path}: corrupt superblock: inode count {ninodes} is out of range")
    if (inodestart, bmapstart, datastart) != layout(size, ninodes) or datastart >= size:
        raise DiskError(f"{path}: corrupt superblock: inode table, bitmap and data starts "
                        f"({inodestart}, {bmapstart}, {datastart}) do not fit the layout")  # fmt: skip
    return Disk(path, image)
