"""Flattened device trees (DTB): a small writer, and a reader for checking one.

The format is the Devicetree Specification's (v0.4, chapter 5 "Flattened Devicetree
(DTB) Format"), version 17:

    header (40 bytes, big-endian words)   magic 0xd00dfeed, total size, the offsets
                                          and sizes of the blocks below, version 17
    memory reservation block              (address, size) pairs of u64, ended by (0, 0)
    structure block                       tokens: BEGIN_NODE name, PROP len nameoff
                                          value, END_NODE, ..., END; 4-byte aligned
    strings block                         property names, NUL-terminated, shared

A property's value is bytes: `cells(...)` for big-endian 32-bit cells, `string(...)`
for one or more NUL-terminated strings, b"" for a flag.  We write the tree the board
describes (machine/devicetree.py); reading is for `--dtb FILE` (is it a DTB?) and the
tests.  No library: pyFDT (`fdt` on PyPI) has had no release since 2019 and pylibfdt
builds libfdt from source with SWIG; the format is a page of code.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

MAGIC = 0xD00DFEED
VERSION, LAST_COMPATIBLE = 17, 16
HEADER_SIZE = 40
BEGIN_NODE, END_NODE, PROP, NOP, END = 1, 2, 3, 4, 9


class FdtError(Exception):
    """Bytes that are not a well-formed DTB; str() is one line."""


def cells(*values: int) -> bytes:
    """Big-endian 32-bit cells, as `reg = <0x0 0x80000000 ...>` holds them."""
    return b"".join(struct.pack(">I", value & 0xFFFF_FFFF) for value in values)


def string(*texts: str) -> bytes:
    """One string, or a string list (`compatible = "a", "b"`): each NUL-terminated."""
    return b"".join(text.encode() + b"\0" for text in texts)


@dataclass
class Node:
    """A node: its name ("" for the root, "cpu@0"), properties in order, children."""

    name: str
    props: dict[str, bytes] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)

    def add(self, name: str, **props: bytes) -> Node:
        """A new child, its properties given as keywords, `_` standing for `-` (use
        `set` for names a keyword cannot spell: "riscv,isa", "#size-cells", "device_type")."""
        child = Node(name, {key.replace("_", "-"): value for key, value in props.items()})
        self.children.append(child)
        return child

    def set(self, name: str, value: bytes) -> Node:
        self.props[name] = value
        return self

    def child(self, name: str) -> Node:
        """The child called `name` (KeyError if there is none)."""
        for node in self.children:
            if node.name == name:
                return node
        raise KeyError(name)

    def find(self, path: str) -> Node:
        """The node at `path` ("/soc/serial@10000000"), KeyError if there is none."""
        node = self
        for part in path.strip("/").split("/"):
            if part:
                node = node.child(part)
        return node


def pack(root: Node, boot_cpuid: int = 0) -> bytes:
    """The DTB of the tree under `root`."""
    structure = bytearray()
    strings = bytearray()
    offsets: dict[str, int] = {}

    def name_offset(name: str) -> int:
        if name not in offsets:
            offsets[name] = len(strings)
            strings.extend(name.encode() + b"\0")
        return offsets[name]

    def emit(node: Node) -> None:
        structure.extend(struct.pack(">I", BEGIN_NODE) + _padded(node.name.encode() + b"\0"))
        for name, value in node.props.items():
            structure.extend(struct.pack(">III", PROP, len(value), name_offset(name)) + _padded(value))
        for child in node.children:
            emit(child)
        structure.extend(struct.pack(">I", END_NODE))

    emit(root)
    structure.extend(struct.pack(">I", END))
    reserve = bytes(16)  # no reservations: the (0, 0) that ends the block
    off_reserve = HEADER_SIZE
    off_struct = off_reserve + len(reserve)
    off_strings = off_struct + len(structure)
    total = off_strings + len(strings)
    header = struct.pack(">10I", MAGIC, total, off_struct, off_strings, off_reserve,
                         VERSION, LAST_COMPATIBLE, boot_cpuid, len(strings), len(structure))  # fmt: skip
    return header + reserve + bytes(structure) + bytes(strings)


def unpack(data: bytes) -> Node:
    """The tree in a DTB (version 16 or later), or FdtError saying what is wrong."""
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise FdtError(f"{len(data)} bytes: too short for a device tree header")
    magic, total, off_struct, off_strings, _, version, last, _, size_strings, size_struct = struct.unpack_from(
        ">10I", data)  # fmt: skip
    if magic != MAGIC:
        raise FdtError(f"not a device tree blob (magic {magic:#010x}, not {MAGIC:#010x})")
    if last > VERSION or version < 16:
        raise FdtError(f"device tree version {version} (compatible back to {last}): only 16 and 17 are read")
    if total > len(data) or total < HEADER_SIZE:
        raise FdtError(f"header says {total} bytes, the file has {len(data)}")
    if off_struct + size_struct > total or off_strings + size_strings > total:
        raise FdtError("a block reaches past the end of the device tree")
    strings = data[off_strings : off_strings + size_strings]
    pos, end = off_struct, off_struct + size_struct
    stack: list[Node] = []
    root: Node | None = None

    def word() -> int:
        nonlocal pos
        if pos + 4 > end:
            raise FdtError("the structure block ends in the middle of a token")
        (value,) = struct.unpack_from(">I", data, pos)
        pos += 4
        return value

    while True:
        token = word()
        if token == BEGIN_NODE:
            stop = data.find(b"\0", pos, end)
            if stop < 0:
                raise FdtError("a node name runs past the structure block")
            node = Node(data[pos:stop].decode(errors="replace"))
            pos = _align(stop + 1)
            if stack:
                stack[-1].children.append(node)
            elif root is None:
                root = node
            else:
                raise FdtError("a second root node")
            stack.append(node)
        elif token == PROP:
            length, name_at = word(), word()
            name_end = strings.find(b"\0", name_at)
            if not stack or pos + length > end or name_end < 0:
                raise FdtError("a property outside any node, or past its block")
            name = strings[name_at:name_end].decode(errors="replace")
            stack[-1].props[name] = data[pos : pos + length]
            pos = _align(pos + length)
        elif token == END_NODE:
            if not stack:
                raise FdtError("an END_NODE with no node open")
            stack.pop()
        elif token == NOP:
            continue
        elif token == END:
            break
        else:
            raise FdtError(f"unknown structure token {token:#x} at offset {pos - 4:#x}")
    if root is None or stack:
        raise FdtError("the structure block does not hold one whole tree")
    return root


def _padded(raw: bytes) -> bytes:
    return raw + bytes(-len(raw) % 4)


def _align(offset: int) -> int:
    return offset + (-offset % 4)
