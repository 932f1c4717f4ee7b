"""A script that talks to a guest: it sends a line, waits for the guest's answer, and
only then sends the next, as `expect` scripts and people at a keyboard do.  Piped
input must reach the guest as soon as it waits for it, and what the guest prints
must come out as soon as it prints it, with `tuivmm run` as with `tuivmm bare`.

(The timeouts below only turn a hang into a failure: a guest that answers never
comes close to them.)"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ANSWER_TIMEOUT = 60.0


class Conversation:
    """`python -m tuivmm ARGS` with a pipe for stdin and stdout read as it comes."""

    def __init__(self, *args: str):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, "-m", "tuivmm", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)  # fmt: skip
        self.output = bytearray()
        self._seen = 0
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := self.proc.stdout.read1(4096):
            with self._lock:
                self.output += chunk

    def send(self, line: str) -> None:
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def expect(self, text: str, timeout: float = ANSWER_TIMEOUT) -> None:
        """Wait until `text` appears in what the guest printed since the last expect."""
        deadline = time.monotonic() + timeout
        needle = text.encode()
        while True:
            with self._lock:
                at = self.output.find(needle, self._seen)
                if at >= 0:
                    self._seen = at + len(needle)
                    return
                shown = bytes(self.output[self._seen :])
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"no {text!r} from the guest (after the last answer it printed {shown!r})")
            time.sleep(0.02)

    def close(self) -> int:
        """End the input and wait for the run to end; its exit status."""
        try:
            self.proc.stdin.close()
            return self.proc.wait(timeout=ANSWER_TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(timeout=5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def converse():
    started: list[Conversation] = []

    def start(*args: str) -> Conversation:
        conversation = Conversation(*args)
        started.append(conversation)
        return conversation

    yield start
    for conversation in started:
        conversation.kill()


COMMANDS = {
    "run": ("run", "unix", "hello"),
    "bare": ("bare", "unix"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_answer_comes_before_the_next_line_is_sent(converse, command):
    unix = converse(*COMMANDS[command])
    unix.expect("$ ")
    unix.send("echo one")
    unix.expect("one\n")  # before "echo two" is sent: not one line behind
    unix.expect("$ ")
    unix.send("echo two")
    unix.expect("two\n")
    unix.send("shutdown")
    unix.expect("unix: power off")
    assert unix.close() == 0


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_program_that_never_waits_for_input_starts_while_the_script_waits(converse, command):
    unix = converse(*COMMANDS[command])
    unix.expect("$ ")
    unix.send("spin")
    unix.expect("spin: pid 2")  # spin runs, though the next line has not come
    unix.send("\x03")  # Ctrl-C
    unix.expect("^C")
    unix.send("echo after")
    unix.expect("after\n")
    unix.send("shutdown")
    unix.expect("unix: power off")
    assert unix.close() == 0
