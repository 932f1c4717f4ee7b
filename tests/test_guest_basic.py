"""The basic guest: a 1980s-style BASIC machine in M-mode, typed at through the UART
by interrupt.  Each test types a session and reads the console: programs are entered,
edited, listed and run; every error is reported and the next command still works;
Ctrl-C stops a program that never waits for a key; TICKS and PAUSE keep time with no
clock tick; QEMU prints the same bytes."""

import time

from test_cli import tuivmm
from toolchain import run_qemu

from machine.board import Board
from machine.runner import BytesInput, ConsoleRunner
from tuivmm.lineup.packaged import IMAGES

BASIC = IMAGES / "basic.elf"
BANNER = "\n**** TUIVMM BASIC ****\nRV32IMA M-MODE, 8192 BYTES FREE\n\nREADY.\n"

# Enter a program with a FOR loop around a GOSUB, run it, edit it (replace, insert,
# delete lines) and run it again, and make every kind of mistake along the way.
SESSION = (
    b"10 FOR I=1 TO 3\n20 GOSUB 100\n30 NEXT I\n40 END\n"
    b'100 PRINT "HELLO ";I\n110 RETURN\n'
    b"RUN\n"
    b'30 NEXT I:PRINT "DONE"\n25 PRINT "-";\n'
    b"LIST\nRUN\n"
    b"100\nLIST 100-\nRUN\n"
    b"RETURN\n"
    b'110\n100 PRINT "SQUARE",I*I\nRUN 20\n'
    b"FOO BAR\nPRINT 7/0\n"
    b"50 PRINT (1+2\nGOTO 50\n"
    b"NEXT\nlist -30\n"
    b"BYE\n"
)

SESSION_TRANSCRIPT = """\
10 FOR I=1 TO 3
20 GOSUB 100
30 NEXT I
40 END
100 PRINT "HELLO ";I
110 RETURN
RUN
HELLO 1
HELLO 2
HELLO 3
READY.
30 NEXT I:PRINT "DONE"
25 PRINT "-";
LIST
10 FOR I=1 TO 3
20 GOSUB 100
25 PRINT "-";
30 NEXT I:PRINT "DONE"
40 END
100 PRINT "HELLO ";I
110 RETURN
READY.
RUN
HELLO 1
-HELLO 2
-HELLO 3
-DONE
READY.
100
LIST 100-
110 RETURN
READY.
RUN
?UNDEFINED LINE 100 IN 20
READY.
RETURN
?RETURN WITHOUT GOSUB
READY.
110
100 PRINT "SQUARE",I*I
RUN 20
SQUARE    0
READY.
FOO BAR
?SYNTAX ERROR
READY.
PRINT 7/0
?DIVISION BY ZERO
READY.
50 PRINT (1+2
GOTO 50
?SYNTAX ERROR IN 50
READY.
NEXT
?NEXT WITHOUT FOR
READY.
list -30
10 FOR I=1 TO 3
20 GOSUB 100
25 PRINT "-";
30 NEXT I:PRINT "DONE"
READY.
BYE
"""

# A program that never waits for a key, stopped by Ctrl-C; then the machine goes on.
RUNAWAY = b"10 GOTO 10\nRUN\n\x03PRINT 6*7\nBYE\n"

# Typed ahead while the machine sleeps: more than its 1024-byte key ring holds, so
# it must hold the UART off until there is room again, and lose nothing.
TYPE_AHEAD = (
    b"PAUSE 50\n"
    + b"".join(b'PRINT "%02d%s"\n' % (n, b"A" * 60) for n in range(30))
    + b"BYE\n"
)


def session(typed: bytes) -> str:
    """What basic prints after its banner for `typed` (which ends with BYE) on our
    bare machine, checked to power off with success."""
    result = tuivmm("bare", str(BASIC), stdin=typed)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    out = result.stdout.decode()
    assert out.startswith(BANNER)
    return out[len(BANNER) :]


def test_a_session_edits_lists_and_runs_a_program_and_survives_every_error():
    assert session(SESSION) == SESSION_TRANSCRIPT


def test_expressions_follow_precedence_and_print_separators_tab_or_join():
    out = session(
        b"PRINT 1+2*3;(1+2)*3;-7/2;7 MOD 3;ABS(-5)\n"
        b"PRINT 1<2;2<1;2<=2;3>=4;1=1;1<>1;1 AND 0;1 OR 0;NOT 5\n"
        b'PRINT "A",12,"B";\n'
        b"X=6:LET Y=X*7:PRINT Y\n"
        b"BYE\n"
    )
    # Every command echoes, prints one line, and READY. follows on a line of its own.
    assert out.splitlines()[1::3] == [
        "79-315",
        "101010010",
        "A         12        B",  # zones of ten columns
        "42",
    ]


def test_arithmetic_that_does_not_fit_is_an_overflow_not_a_wrap():
    out = session(b"PRINT 2147483647+1\nPRINT 99999999999\nPRINT 2147483647\nBYE\n")
    assert out.count("?OVERFLOW\n") == 2
    assert "\n2147483647\n" in out


def test_for_counts_down_with_a_negative_step():
    out = session(b'10 FOR I=10 TO 1 STEP -3:PRINT I;" ";:NEXT\nRUN\nBYE\n')
    assert "RUN\n10 7 4 1 \nREADY.\n" in out


def test_input_reads_numbers_and_asks_again_for_anything_else():
    out = session(b'10 INPUT "A,B";A,B\n20 PRINT A+B\nRUN\nTEN\n3, -4\nBYE\n')
    assert "RUN\nA,B? TEN\n?REDO FROM START\n? 3, -4\n-1\nREADY.\n" in out


def test_the_line_editor_rubs_out_and_takes_cr_lf_as_one_enter():
    out = session(b'print "abc\x7fd\x08x"\r\nPRINT 1\r\nBYE\r\n')
    assert 'print "abc\b \bd\b \bx"\nabx\nREADY.\nPRINT 1\n1\nREADY.\nBYE\n' == out


def test_a_line_too_long_is_refused_and_the_next_one_works():
    out = session(b'PRINT "' + b"X" * 80 + b'"\nPRINT 5\nBYE\n')
    assert "?LINE TOO LONG\nREADY.\nPRINT 5\n5\nREADY.\n" in out


def test_out_of_memory_refuses_a_line_and_deleting_one_makes_room():
    # Full-width lines: "1000 REM XX...X" is 80 characters, stored as 79 bytes (the
    # 75 after the number, a NUL and a 3-byte header), so 8192 bytes hold 103 of them.
    lines = b"".join(b"%d REM %s\n" % (n, b"X" * 71) for n in range(1000, 1110))
    out = session(lines + b"LIST 1102-\n1000\n1103 REM FITS NOW\nLIST 1102-\nBYE\n")
    assert out.count("?OUT OF MEMORY\n") == 7
    first, second = out.split("LIST 1102-\n")[1:]
    assert first == "1102 REM " + "X" * 71 + "\nREADY.\n1000\n1103 REM FITS NOW\n"
    assert second == "1102 REM " + "X" * 71 + "\n1103 REM FITS NOW\nREADY.\nBYE\n"


def test_ctrl_c_stops_a_program_that_never_waits_for_a_key():
    board = Board()
    board.load(BASIC)
    runner = ConsoleRunner(board, BytesInput(b"10 GOTO 10\nRUN\n"))
    # Two million instructions of GOTO 10: the program is looping, not waiting.
    assert runner.run(max_instructions=2_000_000).kind == "budget"
    assert board.output.decode().endswith("RUN\n")
    board.uart.feed(b"\x03")
    runner = ConsoleRunner(board, BytesInput(b"PRINT 6*7\nBYE\n"))
    assert runner.run(max_instructions=2_000_000).kind == "pass"
    assert board.output.decode().endswith(
        "RUN\nBREAK IN 10\nREADY.\nPRINT 6*7\n42\nREADY.\nBYE\n"
    )


def test_ctrl_c_typed_at_input_breaks_the_program():
    out = session(b"10 INPUT A\n20 PRINT A\nRUN\n\x03PRINT 1\nBYE\n")
    assert "RUN\n? \nBREAK IN 10\nREADY.\nPRINT 1\n1\nREADY.\n" in out


def test_keys_typed_ahead_beyond_the_ring_are_all_taken_in_order():
    printed = [f"{n:02d}" + "A" * 60 for n in range(30)]
    expected = "".join(f'PRINT "{text}"\n{text}\nREADY.\n' for text in printed)
    assert session(TYPE_AHEAD) == "PAUSE 50\nREADY.\n" + expected + "BYE\n"


def test_qemu_prints_the_same_sessions_byte_for_byte():
    for typed in (SESSION, RUNAWAY, TYPE_AHEAD):
        ours = tuivmm("bare", str(BASIC), stdin=typed)
        code, qemu_out = run_qemu(BASIC, stdin=typed, timeout=30)
        assert ours.returncode == code == 0
        assert ours.stdout.decode() == qemu_out.decode()


# basic keeps no tick: TICKS reads mtime, and the timer is armed only while PAUSE
# waits, so at its prompt basic sleeps with no timer at all (under the VMM:
# tests/vmm/test_whole_guests.py).


def test_ticks_reads_the_time_and_pause_waits_exactly_its_ticks():
    out = session(b"T=TICKS:PAUSE 120:PRINT TICKS-T\nPAUSE 0\nPRINT TICKS>=120;TICKS<200\nBYE\n")
    assert out == ("T=TICKS:PAUSE 120:PRINT TICKS-T\n120\nREADY.\nPAUSE 0\nREADY.\n"
                   "PRINT TICKS>=120;TICKS<200\n11\nREADY.\nBYE\n")


def test_ctrl_c_cuts_a_long_pause_short():
    out = session(b"PAUSE 100000\n\x03PRINT 1\nBYE\n")
    assert out == "PAUSE 100000\nBREAK\nREADY.\nPRINT 1\n1\nREADY.\nBYE\n"


class SlowTypist:
    """A person at the keyboard: each line typed `delay` seconds after the previous
    one was read (an interactive input, as a terminal is)."""

    interactive = True

    def __init__(self, lines: list[bytes], delay: float):
        self.lines = lines
        self.delay = delay
        self.due = time.monotonic() + delay

    def poll(self, timeout: float | None) -> bytes | None:
        if not self.lines:
            return None
        wait = self.due - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, timeout if timeout is not None else wait))
            if time.monotonic() < self.due:
                return b""
        self.due = time.monotonic() + self.delay
        return self.lines.pop(0)


def test_on_a_terminal_the_time_basic_waits_for_a_key_passes_for_it_too():
    # No timer is armed at the prompt, so nothing but the runner moves basic's clock
    # while it waits: the wall-clock time the person took.
    board = Board()
    board.load(BASIC)
    outcome = ConsoleRunner(board, SlowTypist([b"PRINT TICKS\n", b"BYE\n"], delay=0.5)).run(50_000_000)
    assert outcome.kind == "pass"
    ticks = int(board.output.decode().split("PRINT TICKS\n")[1].split("\n")[0])
    # Half a second less what booting took on the host (virtual time alone: 0 ticks).
    assert 25 <= ticks < 1000
