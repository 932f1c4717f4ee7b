"""The host terminal as a guest console: raw keystrokes in, guest bytes out.

On a TTY, keys go to the guest unprocessed (Ctrl-C included, as on QEMU's
`-nographic` console); Ctrl-A then x quits.  Piped or redirected stdin is scripted
input, read as the guest becomes ready for it (see machine.runner).
"""

from __future__ import annotations

import os
import select
import sys
import termios
import tty

ESCAPE = 0x01  # Ctrl-A


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
