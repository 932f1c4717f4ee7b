"""tuivmm/cli/terminal.py's LinePrinter: several guests' consoles on one terminal.
What it writes is played into pyte, a VT100 emulator, to see the screen a person sees."""

import io

import pyte

from tuivmm.cli.terminal import LinePrinter


def screen_lines(data: bytes) -> list[str]:
    """The non-blank lines of an 80-column screen after `data`, right-trimmed."""
    screen = pyte.Screen(80, 50)
    pyte.ByteStream(screen).feed(data)
    return [line.rstrip() for line in screen.display if line.strip()]


def test_another_guests_lines_erase_the_prompt_in_place_and_show_it_again_below():
    out = io.BytesIO()
    printer = LinePrinter(out, ["unix", "ticker"], interactive=True)
    printer.feed("unix", b"$ ")
    printer.feed("ticker", b"tick 1\n")
    printer.feed("ticker", b"tick 2\n")
    printer.feed("unix", b"ec")
    # CR and erase-line (ESC [ K) take the prompt off; it comes again after the line.
    assert out.getvalue() == (b"[unix] $ \r\x1b[K[ticker] tick 1\r\n[unix] $ "
                              b"\r\x1b[K[ticker] tick 2\r\n[unix] $ ec")  # fmt: skip
    assert screen_lines(out.getvalue()) == ["[ticker] tick 1", "[ticker] tick 2", "[unix] $ ec"]


def test_at_the_end_each_unfinished_line_is_shown_once():
    out = io.BytesIO()
    printer = LinePrinter(out, ["unix", "ticker"], interactive=True)
    printer.feed("unix", b"$ ")
    printer.feed("ticker", b"half a line")  # on screen now, in place of the prompt
    printer.finish()
    assert screen_lines(out.getvalue()) == ["[unix] $", "[ticker] half a line"]


def test_through_a_pipe_only_whole_lines_are_written():
    out = io.BytesIO()
    printer = LinePrinter(out, ["unix", "ticker"])
    printer.feed("unix", b"$ ")
    printer.feed("ticker", b"tick 1\n")
    printer.feed("unix", b"echo hi\nhi\n$ ")
    assert out.getvalue() == b"[ticker] tick 1\n[unix] $ echo hi\n[unix] hi\n"
    printer.finish()
    assert out.getvalue().endswith(b"[unix] hi\n[unix] $ \n")
