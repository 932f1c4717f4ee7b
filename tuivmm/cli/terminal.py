"""The host terminal as a guest console: raw keystrokes in, guest bytes out.

`StdinInput` reads keys (raw on a TTY) or a script; `StdinPump` reads it on a
thread for `tuivmm run`'s event loop; `LinePrinter` writes several guests' consoles
to one stream, each line prefixed with the guest's name.

On a TTY, keys go to the guest unprocessed (Ctrl-C included, as on QEMU's
`-nographic` console); Ctrl-A then x quits.  Piped or redirected stdin is scripted
input, read as the guest becomes ready for it (see machine.runner).
"""

from __future__ import annotations

import asyncio
import os
import queue
import select
import sys
import termios
import threading
import tty
from typing import IO

ESCAPE = 0x01  # Ctrl-A
ERASE_LINE = b"\r\x1b[K"  # back to the start of the line, and erase it (VT100 EL)


class QuitRequested(Exception):
    """The user typed Ctrl-A x."""


class StdinInput:
    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stdin
        try:
            self.fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None
        self.interactive = self.fd is not None and os.isatty(self.fd)
        self._saved = None
        self._escape = False

    def __enter__(self) -> StdinInput:
        if self.interactive:
            self._saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd)
        return self

    def __exit__(self, *exc) -> None:
        if self._saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def poll(self, timeout: float | None) -> bytes | None:
        if self.fd is None:
            return None
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        data = os.read(self.fd, 4096)
        if not data:
            return None
        return self._filter(data) if self.interactive else data

    def _filter(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            if self._escape:
                self._escape = False
                if byte in b"xX":
                    raise QuitRequested()
                if byte == ESCAPE:
                    out.append(ESCAPE)  # Ctrl-A Ctrl-A sends one Ctrl-A
                continue
            if byte == ESCAPE:
                self._escape = True
                continue
            out.append(byte)
        return bytes(out)


class StdoutConsole:
    """Guest output to stdout: flushed at once when a person is watching, else at each
    end of line (and by the runner before it waits for input), so a program reading
    the output through a pipe sees lines and prompts as they come."""

    def __init__(self, interactive: bool):
        self.out = sys.stdout.buffer
        self.interactive = interactive

    def write(self, data: bytes) -> None:
        # A raw terminal does not turn \n into \r\n; guests that send bare \n still
        # read right.
        if self.interactive:
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self.out.write(data)
        if self.interactive or b"\n" in data:
            self.out.flush()

    def flush(self) -> None:
        self.out.flush()


class TerminalText:
    """A text stream (stderr) for messages that may come while the terminal is raw.

    Raw mode turns the terminal's output processing off, so a bare LF no longer
    returns the carriage and the next line would start mid-screen.  On a terminal in
    that state each LF goes out as CR LF; to a file, a pipe or a terminal in its usual
    mode the text goes as it is.  The state is asked of the stream's own terminal at
    each write, so it is right before, during and after a raw spell."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        try:
            self.fd = stream.fileno() if os.isatty(stream.fileno()) else None
        except (AttributeError, OSError, ValueError):
            self.fd = None  # no terminal: nothing to do, ever

    def write(self, text: str) -> int:
        if self.fd is not None and "\n" in text and _raw_terminal(self.fd):
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def _raw_terminal(fd: int) -> bool:
    """Whether the terminal on `fd` does not turn LF into CR LF now (raw mode)."""
    try:
        oflag = termios.tcgetattr(fd)[1]
    except (OSError, termios.error):
        return False
    return not (oflag & termios.OPOST and oflag & termios.ONLCR)


class LinePrinter:
    """Guests' console bytes to one stream, each line prefixed with `[name] `.

    Through a pipe whole lines are written (flushed at each one), and an unfinished
    line only when asked (`show_partial`: the guest waits for input).  When a person
    is watching (`interactive`: stdout is the raw terminal), a guest's unfinished line
    is shown as it grows; another guest's line first erases it where it is (so no
    stale copy of it stays on the screen), and afterwards the first guest's unfinished
    line (its prompt) is shown again below."""

    def __init__(self, out: IO[bytes], names: list[str], *, interactive: bool = False):
        self.out = out
        self.names = names
        self.interactive = interactive
        self.partial: dict[str, bytearray] = {name: bytearray() for name in names}
        self.screen: tuple[str, int] | None = None  # guest whose unfinished line is shown, bytes shown
        self.broken = False

    def feed(self, name: str, data: bytes) -> None:
        if self.screen is not None and self.screen[0] != name:
            self._end_screen_line()
        buf = self.partial[name]
        buf += data
        chunks: list[bytes] = []
        while (end := buf.find(b"\n")) >= 0:
            line = bytes(buf[: end + 1])
            del buf[: end + 1]
            if self.screen is not None:  # the rest of the line that is on screen
                chunks.append(line[self.screen[1] :])
                self.screen = None
            else:
                chunks.append(self._prefix(name) + line)
        if self.interactive:
            if buf:
                if self.screen is not None:  # this guest's line is on screen: add what is new
                    chunks.append(bytes(buf[self.screen[1] :]))
                else:
                    chunks.append(self._prefix(name) + bytes(buf))
                self.screen = (name, len(buf))
            else:
                chunks.append(self._reshow())
        self._write(b"".join(chunks))

    def show_partial(self, name: str) -> None:
        """Show guest `name`'s unfinished line (a prompt) now, through a pipe too: the
        guest waits for input, and a script waiting for its prompt must see it.  What
        the guest prints next on that line follows it; another guest's line ends it."""
        buf = self.partial[name]
        if self.screen is not None and self.screen[0] != name:
            self._end_screen_line()
        if not buf:
            return
        if self.screen is not None:
            chunk = bytes(buf[self.screen[1] :])
        else:
            chunk = self._prefix(name) + bytes(buf)
        self.screen = (name, len(buf))
        self._write(chunk)

    def finish(self) -> None:
        """End every unfinished line (the run is over)."""
        chunks = []
        for name in self.names:
            buf = self.partial[name]
            if not buf:
                continue
            if self.screen is not None and self.screen[0] == name:
                chunks.append(bytes(buf[self.screen[1] :]) + b"\n")
                self.screen = None
            else:
                if self.screen is not None:  # another guest's line: it comes whole in its turn
                    chunks.append(self._take_off())
                    self.screen = None
                chunks.append(self._prefix(name) + bytes(buf) + b"\n")
            buf.clear()
        if self.screen is not None:
            chunks.append(b"\n")
            self.screen = None
        self._write(b"".join(chunks))

    def _prefix(self, name: str) -> bytes:
        return f"[{name}] ".encode()

    def _end_screen_line(self) -> None:
        """Take the unfinished line off the screen (it stays in `partial`)."""
        self._write(self._take_off())
        self.screen = None

    def _take_off(self) -> bytes:
        """What takes a shown unfinished line off: on a terminal, erasing it in place;
        through a pipe (a prompt shown for a script), ending it: the whole line comes
        again, prefixed, when the guest finishes it."""
        return ERASE_LINE if self.interactive else b"\n"

    def _reshow(self) -> bytes:
        """The first guest's unfinished line again, if nothing else is on screen."""
        if self.screen is not None or not self.names:
            return b""
        first = self.names[0]
        buf = self.partial[first]
        if not buf:
            return b""
        self.screen = (first, len(buf))
        return self._prefix(first) + bytes(buf)

    def _write(self, data: bytes) -> None:
        if not data or self.broken:
            return
        if self.interactive:  # a raw terminal does not turn \n into \r\n
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        try:
            self.out.write(data)
            self.out.flush()
        except BrokenPipeError:
            # Nobody reads any more (`tuivmm run unix | head`): the guests run on, unseen.
            self.broken = True
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.out.fileno())
                os.close(devnull)
            except (OSError, AttributeError, ValueError):
                pass


class StdinPump:
    """A thread reading stdin (a `tuivmm.cli.terminal.StdinInput`), posting what it reads
    to the event loop: on_data(bytes), then on_end() at end of input, or on_quit() for
    Ctrl-A x."""

    def __init__(self, source, loop: asyncio.AbstractEventLoop, on_data, on_end, on_quit):
        self.source = source
        self.loop = loop
        self.on_data, self.on_end, self.on_quit = on_data, on_end, on_quit
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tuivmm-stdin", daemon=True)
        # What the thread read, in order: the loop runs it (`deliver`), or a caller that
        # must wait for it right where it is (the held first guest) does.
        self.posted: queue.SimpleQueue = queue.SimpleQueue()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def _post(self, callback, *args) -> None:
        self.posted.put((callback, args))
        try:
            self.loop.call_soon_threadsafe(self.deliver)
        except RuntimeError:  # the loop is closed: the run is over
            self.stopping.set()

    def deliver(self, wait: float | None = None) -> None:
        """On the loop's thread: run the callbacks for what has been read so far, in
        order; with `wait`, first wait up to that many seconds for something."""
        try:
            item = self.posted.get(timeout=wait) if wait is not None else self.posted.get_nowait()
        except queue.Empty:
            return
        while True:
            callback, args = item
            callback(*args)
            try:
                item = self.posted.get_nowait()
            except queue.Empty:
                return

    def _run(self) -> None:
        from tuivmm.cli.terminal import QuitRequested

        try:
            while not self.stopping.is_set():
                data = self.source.poll(0.1)
                if data is None:
                    self._post(self.on_end)
                    return
                if data:
                    self._post(self.on_data, data)
        except QuitRequested:
            self._post(self.on_quit)
        except (OSError, ValueError):  # stdin closed under us: that is its end
            self._post(self.on_end)
