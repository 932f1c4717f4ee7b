"""Record and replay: a session of the monitor, written down and played again.

Guest time is deterministic (each guest's clock counts its own instructions and the
time it sleeps), so a session is fully described by what it started from and what
came from outside:

* the guests: names, images (path and SHA-256), RAM, remedy, SBI, the machine's ERET
  flaw, network cards, --max-insns, and each guest's disk as it was at the start;
* every chunk of console input, with the moment the guest's UART received it;
* the places in the schedule where console input woke a guest that was idle, and
  where the user quit (Ctrl-A x).

A moment is `Guest.passes`, the turns the VMM's run loop has taken for that guest:
every chunk reaches the UART at the top of a turn, and a replay that starts from the
same state takes the very same turns, so the chunk goes in at the same instruction
and the same exit (the guest's instruction count and cycles are kept beside it, to
check).  A place in the schedule is `Vmm.slices_run`, the slices run by all guests
together.  Input that arrives while a guest runs changes only its input buffer; the
schedule (round robin, each slice 20,000 cycles or 200 exits) depends on virtual time
alone, except where console input wakes an idle guest or the user quits, which are
wall-clock moments and so are written down.

The log is a zip file (inspect it with `unzip -l`), written beside its place and
renamed there when the run is over, so no half-written log is ever in place:

    header.json    format name and version, tuivmm's version, settings, guests
    disk-N.img     guest N's disk as it was at the start (deflated)
    events.json    the input events and how the session ended
    SHA256SUMS     the SHA-256 of every member above, as sha256sum prints them

A log that is truncated, corrupt (a CRC or SHA-256 that does not match) or of
another format version is refused, and so is an image that has changed since.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Self

from tuivmm import __version__

FORMAT = "tuivmm-recording"
VERSION = 1
HEADER, EVENTS, SUMS = "header.json", "events.json", "SHA256SUMS"
CHUNK = 1 << 20


class RecordError(Exception):
    """A log that cannot be written or replayed; one line for a person."""


@dataclass
class GuestSetup:
    """One guest of a recorded session, as it was started."""

    name: str
    image: str  # the image's path as it was run (an ELF file, or an assembly source)
    package: str | None  # a packaged guest's name: resolved again on replay
    sha256: str  # of the image file
    ram_mib: int
    remedy: str
    disk: str  # "none", "throwaway" (a fresh disk thrown away at exit) or "file" (--disk FILE)
    disk_file: str | None = None  # the --disk FILE (for people: replay uses the recorded contents)
    sbi: str = "firmware"  # who answered its SBI calls (logs from before --sbi: its firmware)

    def image_path(self) -> str:
        """Where the image is now: a packaged guest's own path, else the recorded path."""
        if self.package is not None:
            from tuivmm.lineup.packaged import resolve

            return resolve(self.package)
        return self.image


@dataclass
class SessionSetup:
    """The settings of a recorded session (`tuivmm run`'s options that shape it)."""

    guests: list[GuestSetup]
    flawed_eret: bool = False
    net: bool = True
    max_insns: int | None = None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's contents, in hex (OSError if it cannot be read)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _disk_member(index: int) -> str:
    return f"disk-{index}.img"


# --- recording -----------------------------------------------------------------------------


class Recorder:
    """Writes one session's log.  Made before the guests start (it copies their disks
    then, before they change); `attach` it to the VMM once the guests exist; tell it
    of idle guests woken by console input (`woke`) and of a quit (`quit`); `finish`
    when the run is over.  Until `finish` the log is a hidden file beside its place;
    closing without `finish` (an error, Ctrl-C) removes it."""

    def __init__(self, path: str | os.PathLike[str], setup: SessionSetup, disks: list[str | None]):
        """`disks`: each guest's disk file (None for none), read now."""
        self.path = Path(path)
        self.setup = setup
        self.events: list[dict[str, Any]] = []
        self.quit_at: int | None = None
        self.vmm = None
        self._sums: dict[str, str] = {}
        if self.path.is_dir():
            raise RecordError(f"--record {path}: is a directory")
        directory = self.path.parent
        if not directory.is_dir():
            raise RecordError(f"--record {path}: no such directory {directory}")
        try:
            fd, self._temp = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".part")
        except OSError as exc:
            raise RecordError(f"--record {path}: cannot write there: {exc.strerror or exc}") from None
        try:
            umask = os.umask(0o22)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
            self._zip = zipfile.ZipFile(os.fdopen(fd, "w+b"), "w", compression=zipfile.ZIP_DEFLATED)
            header = {"format": FORMAT, "version": VERSION, "tuivmm": __version__,
                      "settings": {"flawed_eret": setup.flawed_eret, "net": setup.net,
                                   "max_insns": setup.max_insns},
                      "guests": [asdict(g) | {"disk_member": _disk_member(i) if disk is not None else None}
                                 for i, (g, disk) in enumerate(zip(setup.guests, disks, strict=True))]}  # fmt: skip
            self._write(HEADER, json.dumps(header, indent=1).encode())
            for i, disk in enumerate(disks):
                if disk is not None:
                    with open(disk, "rb") as source:
                        self._write_stream(_disk_member(i), source)
        except OSError as exc:
            self.close()
            raise RecordError(f"--record {path}: {exc.strerror or exc}") from None
        except BaseException:
            self.close()
            raise

    def _write(self, name: str, data: bytes) -> None:
        self._zip.writestr(name, data)
        self._sums[name] = hashlib.sha256(data).hexdigest()

    def _write_stream(self, name: str, source: IO[bytes]) -> None:
        digest = hashlib.sha256()
        with self._zip.open(name, "w", force_zip64=True) as out:
            while block := source.read(CHUNK):
                digest.update(block)
                out.write(block)
        self._sums[name] = digest.hexdigest()

    # --- while the session runs --------------------------------------------------------------

    def attach(self, vmm) -> None:
        """Hear every console chunk the VMM's guests are fed."""
        self.vmm = vmm
        for guest in vmm.guests:
            guest.on_feed = lambda data, guest=guest: self._fed(guest, data)

    def _fed(self, guest, data: bytes) -> None:
        v = guest.vcpu
        self.events.append({"feed": guest.name, "pass": guest.passes, "icount": v.icount, "cycles": v.cycles,
                            "data": data.decode("latin-1")})  # fmt: skip

    def woke(self, guest) -> None:
        """Console input is about to wake `guest` from idle, here in the schedule."""
        self.events.append({"wake": guest.name, "slice": self.vmm.slices_run})

    def quit(self) -> None:
        """The user quit (Ctrl-A x); no more slices run."""
        if self.quit_at is None:
            self.quit_at = self.vmm.slices_run

    # --- the end ------------------------------------------------------------------------------

    def finish(self, status: int) -> None:
        """Write the events and how the session ended (`status`: the run's exit status),
        then put the log in its place."""
        end = {"status": status, "quit_at": self.quit_at, "slices": self.vmm.slices_run,
               "guests": [_end_state(g) for g in self.vmm.guests]}  # fmt: skip
        try:
            lines = ",\n".join(json.dumps(event) for event in self.events)  # one event a line
            text = f'{{"events": [\n{lines}\n],\n"end": {json.dumps(end)}}}\n'
            self._write(EVENTS, text.encode())
            self._zip.writestr(SUMS, "".join(f"{digest}  {name}\n" for name, digest in self._sums.items()))
            handle = self._zip.fp
            self._zip.close()
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.replace(self._temp, self.path)
        except OSError as exc:
            self.close()
            raise RecordError(f"--record {self.path}: {exc.strerror or exc}") from None
        self._temp = None

    def close(self) -> None:
        """Throw away an unfinished log."""
        if self._temp is None:
            return
        try:
            handle = self._zip.fp
            self._zip.close()
            if handle is not None:
                handle.close()
        except (OSError, AttributeError, ValueError):
            pass
        try:
            os.unlink(self._temp)
        except OSError:
            pass
        self._temp = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _end_state(guest) -> dict[str, Any]:
    return {"name": guest.name, "state": guest.state.value, "icount": guest.vcpu.icount,
            "cycles": guest.vcpu.cycles, "exits": guest.log.total}  # fmt: skip


# --- reading --------------------------------------------------------------------------------


class Recording:
    """A log read back and checked: its setup, events and end, and its disks."""

    def __init__(self, path: str, zf: zipfile.ZipFile, header: dict, events: list[dict], end: dict):
        self.path = path
        self._zip = zf
        self.header = header
        settings = header["settings"]
        guests = [GuestSetup(**{k: v for k, v in g.items() if k != "disk_member"}) for g in header["guests"]]
        self.setup = SessionSetup(guests, bool(settings["flawed_eret"]), bool(settings["net"]),
                                  settings["max_insns"])  # fmt: skip
        self.disk_members: list[str | None] = [g["disk_member"] for g in header["guests"]]
        self.events = events
        self.end = end

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recording:
        """Read and check the log at `path`: RecordError (one line) if it is missing,
        truncated, corrupt or of another format version."""
        path = os.fspath(path)
        try:
            zf = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise RecordError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise RecordError(f"{path}: is a directory, not a recording") from None
        except OSError as exc:
            raise RecordError(f"{path}: {exc.strerror or exc}") from None
        except (zipfile.BadZipFile, EOFError, ValueError):
            raise RecordError(f"{path}: not a tuivmm recording, or a truncated one") from None
        try:
            return cls._check(path, zf)
        except RecordError:
            zf.close()
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, TypeError, OSError) as exc:
            zf.close()
            raise RecordError(f"{path}: a corrupt recording ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _check(cls, path: str, zf: zipfile.ZipFile) -> Recording:
        names = set(zf.namelist())
        if HEADER not in names:
            raise RecordError(f"{path}: not a tuivmm recording (no {HEADER})")
        header = json.loads(zf.read(HEADER))
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise RecordError(f"{path}: not a tuivmm recording")
        if header.get("version") != VERSION:
            raise RecordError(f"{path}: a recording of format version {header.get('version')}; "
                              f"this tuivmm ({__version__}) replays version {VERSION}")  # fmt: skip
        if SUMS not in names or EVENTS not in names:
            raise RecordError(f"{path}: an unfinished recording (no {EVENTS} or {SUMS})")
        sums = {}
        for line in zf.read(SUMS).decode().splitlines():
            digest, _, name = line.partition("  ")
            sums[name] = digest
        expected = {HEADER, EVENTS} | {g["disk_member"] for g in header["guests"] if g["disk_member"]}
        if not expected <= sums.keys():
            raise RecordError(f"{path}: a corrupt recording ({SUMS} does not cover every part)")
        for name in sorted(expected):
            digest = hashlib.sha256()
            with zf.open(name) as member:  # zipfile checks each member's CRC-32 as it reads
                while block := member.read(CHUNK):
                    digest.update(block)
            if digest.hexdigest() != sums[name]:
                raise RecordError(f"{path}: a corrupt recording ({name}: SHA-256 does not match)")
        body = json.loads(zf.read(EVENTS))
        return cls(path, zf, header, body["events"], body["end"])

    def check_images(self) -> None:
        """RecordError unless every guest's image is there and unchanged."""
        for guest in self.setup.guests:
            image = guest.image_path()
            try:
                digest = file_sha256(image)
            except OSError as exc:
                raise RecordError(f"{self.path}: guest {guest.name}'s image {image}: {exc.strerror or exc}") from None
            if digest != guest.sha256:
                raise RecordError(f"{self.path}: guest {guest.name}'s image {image} has changed since the recording "
                                  "(its SHA-256 differs); replay needs the image it was recorded with")  # fmt: skip

    def write_disks(self, directory: str | os.PathLike[str]) -> list[str | None]:
        """Each guest's disk as it was when the recording began, copied into files in
        `directory` (throwaway copies, so the replay changes nothing the user keeps);
        None for a guest without a disk."""
        paths: list[str | None] = []
        for guest, member in zip(self.setup.guests, self.disk_members, strict=True):
            if member is None:
                paths.append(None)
                continue
            target = Path(directory) / f"{guest.name}.img"
            try:
                with self._zip.open(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
            except OSError as exc:
                raise RecordError(f"{target}: cannot make the replay's copy of a disk: {exc.strerror or exc}") from None
            paths.append(str(target))
        return paths

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- replaying -------------------------------------------------------------------------------


class Replayer:
    """Plays a recording's events into a VMM running the same guests: each console
    chunk at its guest's recorded pass, each wake and the quit at their recorded place
    in the schedule.  Where the replay does not meet the recording (a chunk's pass comes
    at another instruction count, a guest is not idle where it was woken, the session
    ends elsewhere), `divergence` says so; the replay goes on."""

    def __init__(self, recording: Recording):
        self.recording = recording
        self.feeds: dict[str, deque[dict]] = {}
        self.wakes: deque[dict] = deque()
        for event in recording.events:
            if "feed" in event:
                self.feeds.setdefault(event["feed"], deque()).append(event)
            elif "wake" in event:
                self.wakes.append(event)
        self.quit_at: int | None = recording.end.get("quit_at")
        self.quitting = False
        self.divergence: list[str] = []
        self.vmm = None
        self.on_quit: Callable[[], None] = lambda: None

    def attach(self, vmm, on_quit: Callable[[], None]) -> None:
        """Play into `vmm` (its guests made as the recording's); `on_quit` ends the run
        as Ctrl-A x did, with every guest stopped before it runs another slice."""
        self.vmm = vmm
        self.on_quit = on_quit
        vmm.before_slice = self._before_slice
        for guest in vmm.guests:
            guest.replay_feed = self._feed
            self._arm(guest)

    def _arm(self, guest) -> None:
        queue = self.feeds.get(guest.name)
        guest.replay_due = queue[0]["pass"] if queue else -1

    def _feed(self, guest) -> None:
        event = self.feeds[guest.name].popleft()
        v = guest.vcpu
        if (v.icount, v.cycles) != (event["icount"], event["cycles"]):
            self._diverged(f"{guest.name} was fed {event['data']!r} at instruction {v.icount} (cycle {v.cycles}), "
                           f"the recording at {event['icount']} (cycle {event['cycles']})")  # fmt: skip
        guest.feed_console(event["data"].encode("latin-1"))
        self._arm(guest)

    def _before_slice(self, guest) -> None:
        self.due()

    def due(self) -> None:
        """Play what the recording did at this place in the schedule (the watcher calls
        it too when no guest is running, as no slice will start)."""
        place = self.vmm.slices_run
        while self.wakes and self.wakes[0]["slice"] <= place:
            event = self.wakes.popleft()
            guest = next((g for g in self.vmm.guests if g.name == event["wake"]), None)
            if guest is None or event["slice"] != place or guest.state.value != "idle":
                self._diverged(f"{event['wake']} was woken by console input after slice {event['slice']}; "
                               f"in the replay it is {guest.state.value if guest else 'gone'} "
                               f"after slice {place}")  # fmt: skip
            if guest is not None:
                guest.kick()
        if self.quit_at is not None and place >= self.quit_at and not self.quitting:
            self.quitting = True
            self.on_quit()

    def _diverged(self, what: str) -> None:
        self.divergence.append(what)

    def pending(self) -> bool:
        """Whether recorded wakes are still to come (console input, for the watcher)."""
        return bool(self.wakes)

    def verify(self, status: int) -> str | None:
        """After the run: None if it went as recorded, else the first difference."""
        end = self.recording.end
        for name, queue in self.feeds.items():
            if queue:
                self._diverged(f"{name} never reached the moment of recorded input {queue[0]['data']!r} "
                               f"(pass {queue[0]['pass']}, instruction {queue[0]['icount']})")  # fmt: skip
        if self.wakes:
            self._diverged(f"{self.wakes[0]['wake']} was never woken as recorded")
        for guest, recorded in zip(self.vmm.guests, end["guests"], strict=False):
            mine = _end_state(guest)
            if mine != recorded:
                self._diverged(f"{guest.name} ended {mine['state']} after {mine['icount']} instructions, "
                               f"{mine['cycles']} cycles, {mine['exits']} exits; the recording "
                               f"{recorded['state']} after {recorded['icount']}, {recorded['cycles']}, "
                               f"{recorded['exits']}")  # fmt: skip
        if self.vmm.slices_run != end["slices"]:
            self._diverged(f"the replay ran {self.vmm.slices_run} slices, the recording {end['slices']}")
        if status != end["status"] and not self.divergence:
            self._diverged(f"the replay's exit status is {status}, the recording's {end['status']}")
        return self.divergence[0] if self.divergence else None
