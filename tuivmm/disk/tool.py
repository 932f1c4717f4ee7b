"""`tuivmm disk` (also `python3 -m tuivmm.disk`): the command line of the unix
disk-image tool (tuivmm.disk.tufs has the format and the API)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from pathlib import Path

from tuivmm.disk.tufs import (
    BSIZE,
    DEFAULT_SIZE_BLOCKS,
    DIRSIZ,
    DiskError,
    cannot_write,
    mkfs,
    open_image,
)

# --- command line ----------------------------------------------------------------


def _command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m tuivmm.disk", description="Make and inspect disk "
                                     "images of the unix guest's file system.")  # fmt: skip
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    add_commands(parser.add_subparsers(dest="disk_command", required=True, metavar="COMMAND"))
    return parser


def add_commands(sub) -> None:
    """The disk tool's subcommands, added to `sub` (an argparse subparsers object whose
    dest is "disk_command"): here and as `tuivmm disk`."""
    create = sub.add_parser("create", help="make a new empty image (refused if IMAGE exists)")
    create.add_argument("image")
    create.add_argument("--size-kib", type=int, default=DEFAULT_SIZE_BLOCKS * BSIZE // 1024, metavar="N",
                        help="image size in KiB (default %(default)s)")  # fmt: skip
    for name, aliases, what in (("ls", ["list"], "list the files: name, size in bytes, inode"),
                                ("check", [], "look for inconsistencies (exit 1 if any)")):  # fmt: skip
        sub.add_parser(name, aliases=aliases, help=what).add_argument("image")
    for name, what in (("cat", "write a file's bytes to stdout"), ("rm", "remove a file")):
        p = sub.add_parser(name, help=what)
        p.add_argument("image")
        p.add_argument("name")
    put = sub.add_parser("put", help="copy a host file in (default name: its base name)")
    put.add_argument("image")
    put.add_argument("hostfile")
    put.add_argument("name", nargs="?")
    get = sub.add_parser("get", help="copy a file out to the host (default host file: its name; "
                         "an existing one only with --force)")  # fmt: skip
    get.add_argument("image")
    get.add_argument("name")
    get.add_argument("hostfile", nargs="?")
    get.add_argument("--force", action="store_true", help="overwrite the host file if there is one already")


def run(args: argparse.Namespace) -> int:
    """Carry out one parsed disk command; DiskError/OSError for what the user can fix."""
    command = {"list": "ls"}.get(args.disk_command, args.disk_command)
    if command == "create":
        if args.size_kib <= 0 or args.size_kib * 1024 % BSIZE:
            raise DiskError(f"bad size {args.size_kib} KiB: must be a positive multiple of {BSIZE // 1024}")
        disk = mkfs(args.image, args.size_kib * 1024 // BSIZE)
        print(f"{args.image}: {disk.size} blocks, {disk.ninodes - 2} free inodes, {disk.free_blocks()} free blocks")
        return 0
    disk = open_image(args.image)
    if command == "ls":
        for name, size, inum in disk.list():
            print(f"{name:<{DIRSIZ}}  {size:>7}  inode {inum}")
    elif command == "check":
        problems = disk.check()
        for line in problems:
            print(f"{args.image}: {line}")
        if problems:
            return 1
        print(f"{args.image}: clean, {disk.free_blocks()} free blocks")
    elif command == "cat":
        sys.stdout.buffer.write(disk.read_file(args.name))
        sys.stdout.flush()
    elif command == "rm":
        disk.remove(args.name)
    elif command == "put":
        data = Path(args.hostfile).read_bytes()
        disk.write_file(args.name or Path(args.hostfile).name, data)
    elif command == "get":
        data = disk.read_file(args.name)
        target = Path(args.hostfile or args.name)
        if not args.force and os.path.lexists(target):
            raise DiskError(f"{target}: already exists; --force overwrites it")
        _write_aside(target, data)
    return 0


def _write_aside(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all: into a file beside it, then renamed.
    DiskError (naming `path`, never the file beside it) if it cannot be."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # never made (no such directory), or already gone
            tmp.unlink()
        if isinstance(exc, OSError):
            raise cannot_write(path, exc) from None
        raise


def main(argv: list[str] | None = None) -> int:
    args = _command_line().parse_args(argv)
    try:
        return run(args)
    except (DiskError, OSError) as exc:
        if args.debug:
            traceback.print_exc()
        message = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else exc
        print(f"tuivmm disk: {message}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug of ours, or an image too damaged to read: still one line
        if args.debug:
            traceback.print_exc()
        print(f"tuivmm disk: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)  # fmt: skip
        return 1


if __name__ == "__main__":
    sys.exit(main())
