"""The dashboard as a person uses it, driven through Textual's pilot: the keys, the
guest list, the add-guest dialog, and the command line that starts it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandList, CommandPalette
from textual.widgets import Input
from toolchain import cross_tool, run_tool

from tuivmm.lineup.file import default_lineup, lineup_from_names
from tuivmm.ui.app import TuivmmApp
from tuivmm.ui.console import ConsoleGrid, ConsolePane
from tuivmm.ui.dialogs import AddGuestDialog, FlawDialog, PromptDialog
from tuivmm.ui.guestlist import GuestList
from tuivmm.ui.help import HelpScreen
from tuivmm.ui.session import Session
from tuivmm.vmm import GuestState

ROOT = Path(__file__).resolve().parents[2]
SIZE = (160, 50)
DEFAULT_NAMES = ["unix", "unix-2", "basic", "eret-escape"]


async def wait_for(pilot, condition, what: str, timeout: float = 60.0) -> None:
    """Let the app (and the guests' tasks) run until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up after {timeout:.0f} s waiting for {what}"
        await pilot.pause(0.05)


async def type_keys(pilot, *keys: str) -> None:
    """Press keys as a terminal would deliver them.  (pilot.press waits after each key
    until the process is idle, which it never is while guests run: a second a key.)"""
    for key in keys:
        char = {"space": " ", "enter": "\r", "escape": "\x1b"}.get(key, key if len(key) == 1 else None)
        pilot.app.post_message(events.Key(key, char))
    await pilot.pause(0.05)


async def open_add_guest_dialog(pilot) -> None:
    await type_keys(pilot, "f9")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AddGuestDialog), "the dialog", 10)
    await wait_for(pilot, lambda: isinstance(pilot.app.focused, Input), "the dialog's input to have the keys", 10)


def text_keys(text: str) -> list[str]:
    return ["space" if ch == " " else ch for ch in text]


def recording_notify(app: TuivmmApp) -> list[tuple[str, str]]:
    """Keep every (message, severity) the app notifies, as well as showing it."""
    notes: list[tuple[str, str]] = []
    show = app.notify

    def notify(message, *, severity="information", **kwargs):
        notes.append((str(message), severity))
        return show(message, severity=severity, **kwargs)

    app.notify = notify
    return notes


def row_text(app: TuivmmApp, name: str) -> list[str]:
    return app.query_one(GuestList).cells_of(name)


@pytest.fixture
def idle_session():
    """The default lineup, not started: the controls' tests need no guest to run."""
    session = Session(default_lineup(), realtime=False)
    yield session
    session.close()


# --- starting, typing --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_default_lineup_boots_and_what_is_typed_reaches_the_first_unix_shell():
    session = Session(default_lineup())
    app = TuivmmApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert [g.name for g in session.guests] == DEFAULT_NAMES
            console = app.query_one(ConsolePane)
            assert app.selected == "unix" and console.guest_name == "unix"
            assert app.focused is console
            unix = session.terminals["unix"]
            await wait_for(pilot, lambda: unix.text().endswith("$"), "the unix prompt")
            await type_keys(pilot, *text_keys("echo hello"), "enter")
            await wait_for(pilot, lambda: "hello" in unix.text().splitlines(), "hello on the unix console")
            assert "$ echo hello" in unix.text()
            assert "echo hello" not in session.terminals["unix-2"].text()
            # Every guest ran on the app's loop meanwhile.
            assert all(g.instructions > 0 for g in session.guests)
            # Back at its prompt, unix sleeps with its clock tick stopped: the list says so.
            await wait_for(pilot, lambda: row_text(app, "unix")[1:3] == ["unix", "idle"], "unix idle in the list")
    finally:
        session.close()


@pytest.mark.asyncio
async def test_a_ping_typed_in_the_dashboard_is_in_its_pcap_capture(tmp_path):
    capture = tmp_path / "dash.pcap"
    session = Session(lineup_from_names(["unix", "unix"]), pcap=str(capture))
    app = TuivmmApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            unix = session.terminals["unix"]
            await wait_for(pilot, lambda: unix.text().endswith("$"), "the unix prompt")
            await type_keys(pilot, *text_keys("ping 10.0.0.2"), "enter")
            await wait_for(pilot, lambda: "3 packets transmitted, 3 received" in unix.text(), "the ping")
            assert not capture.exists()  # written when the dashboard is done
    finally:
        session.close()
    result = subprocess.run(["tshark", "-r", str(capture), "-Y", "icmp", "-T", "fields", "-e", "icmp.type"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["8", "0"] * 3


async def rsp(reader, writer, payload: str) -> str:
    """One gdb remote-protocol exchange (ack mode): send `payload`, return the reply."""
    from tuivmm.tools.gdbstub import frame

    writer.write(frame(payload.encode()))
    await writer.drain()
    data = b""
    while not (b"$" in data and b"#" in data[data.index(b"$"):] and len(data) >= data.rindex(b"#") + 3):
        data += await asyncio.wait_for(reader.read(4096), 20)
    writer.write(b"+")
    return data[data.index(b"$") + 1 : data.rindex(b"#")].decode()


@pytest.mark.asyncio
async def test_alt_g_stops_the_guest_for_gdb_and_shows_it_in_the_list_until_alt_g_lets_it_go():
    session = Session(lineup_from_names(["unix", "basic"]))
    app = TuivmmApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            unix, basic = session.guest("unix"), session.guest("basic")
            await wait_for(pilot, lambda: unix.instructions > 0, "unix to run")
            await type_keys(pilot, "alt+g")
            await answer_prompt(pilot, "0")
            await wait_for(pilot, lambda: "unix" in session.debuggers, "the stub", 10)
            port = session.debuggers["unix"].port
            await wait_for(pilot, lambda: unix.state is GuestState.DEBUG, "unix to stop")
            app.refresh_view()
            cells = row_text(app, "unix")
            assert cells[2] == "in debugger" and cells[-1] == f"stopped in debugger · gdb may attach on 127.0.0.1:{port}"
            basic.send_input(b"10 GOTO 10\nRUN\n")  # busy: at its prompt basic would sleep, idle
            held_at, basic_before = unix.instructions, basic.instructions
            await wait_for(pilot, lambda: basic.instructions > basic_before + 10_000, "basic to run on")
            assert unix.instructions == held_at
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert (await rsp(reader, writer, "?")).startswith("T")  # stopped, as gdb expects
            app.refresh_view()
            assert row_text(app, "unix")[-1] == f"stopped in debugger · gdb attached on 127.0.0.1:{port}"
            await type_keys(pilot, "alt+g")  # let it go: the debugger is cut off, the guest runs on
            await wait_for(pilot, lambda: "unix" not in session.debuggers, "the stub to close", 10)
            assert await asyncio.wait_for(reader.read(), 20) == b""
            writer.close()
            unix.send_input(b"mem\n")  # (it may have reached its prompt and sleep there)
            await wait_for(pilot, lambda: unix.instructions > held_at, "unix to run again")
            assert unix.state is not GuestState.DEBUG
    finally:
        session.close()


async def answer_prompt(pilot, text: str) -> None:
    """Type `text` into the PromptDialog that is opening, and press Enter."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, PromptDialog) and app.screen.query(Input), "the dialog", 10)
    app.screen.query_one(Input).value = text
    await type_keys(pilot, "enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, PromptDialog), "the dialog to close", 10)


@pytest.mark.asyncio
async def test_alt_s_saves_a_guest_and_alt_o_brings_it_back_beside_the_first_with_its_console_and_files(tmp_path):
    session = Session(lineup_from_names(["unix"]))
    app = TuivmmApp(session)
    notes = recording_notify(app)
    snap = tmp_path / "unix.snap"
    try:
        async with app.run_test(size=SIZE) as pilot:
            unix = session.terminals["unix"]
            await wait_for(pilot, lambda: unix.text().endswith("$"), "the unix prompt")
            await type_keys(pilot, *text_keys("write note saved with the guest"), "enter")
            await wait_for(pilot, lambda: unix.text().count("$") >= 2, "the next prompt")
            await type_keys(pilot, "alt+s")
            await answer_prompt(pilot, str(snap))
            assert snap.stat().st_size > 0 and any("saved to" in n for n, _ in notes)
            await type_keys(pilot, *text_keys("rm note"), "enter")  # the first guest goes on without it
            await type_keys(pilot, "alt+o")
            await answer_prompt(pilot, str(snap))
            assert [g.name for g in session.guests] == ["unix", "unix-2"] and app.selected == "unix-2"
            # Its MAC (and so its IP) is the saved guest's, which still runs: the user is told.
            assert any("unix-2 has the same MAC (52:54:00:00:00:01) as unix" in n for n, _ in notes), notes
            copy = session.terminals["unix-2"]
            assert "$ write note saved with the guest" in copy.text()  # its console as it was saved
            await type_keys(pilot, *text_keys("cat note"), "enter")
            await wait_for(pilot, lambda: "saved with the guest" in copy.text().splitlines(), "the file")
            # A file that is not a snapshot: one line, and both guests go on.
            (tmp_path / "junk.snap").write_bytes(b"not a snapshot")
            await type_keys(pilot, "alt+o")
            await answer_prompt(pilot, str(tmp_path / "junk.snap"))
            app.refresh_view()
            assert any("junk.snap" in n and severity == "error" for n, severity in notes), notes
            # Both go on (each asleep at its prompt, or running).
            assert len(session.guests) == 2
            assert all(g.state in (GuestState.RUNNING, GuestState.IDLE) for g in session.guests)
    finally:
        session.close()


@pytest.mark.asyncio
async def test_ctrl_c_tab_and_arrows_go_to_the_guest_not_to_the_app(idle_session):
    app = TuivmmApp(idle_session, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+c", "tab", "up", "ctrl+p", "ctrl+u")
        assert bytes(idle_session.guest("unix").input) == b"\x03\t\x1b[A\x10\x15"
        assert app.focused is app.query_one(ConsolePane) and app.screen is app.screen_stack[0]


# --- choosing a guest ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_alt_digits_f2_f3_and_clicks_choose_the_guest_and_keep_the_keyboard_on_its_console(idle_session):
    app = TuivmmApp(idle_session, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        console = app.query_one(ConsolePane)
        await pilot.press("alt+2")
        assert (app.selected, console.guest_name, app.focused) == ("unix-2", "unix-2", console)
        await pilot.press("f3")
        assert app.selected == "basic"
        await pilot.press("f2", "f2", "f2")
        assert app.selected == "eret-escape"  # wraps round
        # xterm and tmux send Alt+4 as ESC 4, which Textual reads as "¢".
        await pilot.press("¢")
        assert app.selected == "eret-escape"
        await pilot.press("£")
        assert app.selected == "basic"
        assert all(not g.input for g in idle_session.guests)
        await pilot.press("alt+9")  # no ninth guest: nothing changes
        assert app.selected == "basic"
        # The list: border, heading, then a row per guest.
        await pilot.click(GuestList, offset=(8, 2))
        assert app.selected == "unix" and app.focused is console
        assert app.query_one(GuestList).selected == "unix"


@pytest.mark.asyncio
async def test_f4_tiles_every_console_and_back(idle_session):
    app = TuivmmApp(idle_session, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        grid, single = app.query_one(ConsoleGrid), app.query_one("#single")
        assert single.display and not grid.display
        await pilot.press("f4")
        await pilot.pause()
        assert grid.display and not single.display
        assert [tile.name for tile in grid.children] == DEFAULT_NAMES
        assert [tile.name for tile in grid.query(".selected")] == ["unix"]
        await pilot.press("f4")
        assert single.display and not grid.display and app.focused is app.query_one(ConsolePane)


@pytest.mark.asyncio
async def test_a_click_on_a_tile_opens_that_console(idle_session):
    app = TuivmmApp(idle_session, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        tile = next(t for t in app.query_one(ConsoleGrid).children if t.name == "basic")
        await pilot.click(tile, offset=(5, 5))
        await pilot.pause()
        assert app.selected == "basic" and app.query_one("#single").display


# --- controls -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_f5_pauses_the_selected_guest_and_resumes_it(idle_session):
    app = TuivmmApp(idle_session, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+2", "f5")
        assert idle_session.guest("unix-2").state is GuestState.PAUSED
        assert idle_session.guest("unix").state is GuestState.RUNNING
        assert row_text(app, "unix-2")[2] == "paused"
        await pilot.press("f5")
        assert idle_session.guest("unix-2").state is GuestState.RUNNING
        assert row_text(app, "unix-2")[2] == "running"


@pytest.mark.asyncio
async def test_f6_steps_f8_stops_and_f7_resets_the_selected_guest(idle_session):
    app = TuivmmApp(idle_session, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        basic = idle_session.guest("basic")
        await pilot.press("alt+3", "f6", "f6")
        assert basic.state is GuestState.PAUSED and basic.instructions + basic.log.total >= 2
        await pilot.press("f8")
        assert basic.state is GuestState.STOPPED
        assert row_text(app, "basic")[2] == "stopped"
        await pilot.press("f7")
        assert basic.state is GuestState.RUNNING and basic.pc == 0x8000_0000 and basic.reason == ""


@pytest.mark.asyncio
async def test_alt_e_switches_the_eret_flaw_and_alt_r_cycles_the_remedy(idle_session):
    app = TuivmmApp(idle_session, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+e")  # the unix guests would break: the dialog asks first
        await pilot.pause()
        assert isinstance(app.screen, FlawDialog) and not idle_session.vmm.flawed_eret
        await pilot.click("#ok")
        await pilot.pause()
        assert idle_session.vmm.flawed_eret and "ERET flaw on" in app.sub_title
        await pilot.press("alt+4", "alt+r")
        assert idle_session.guest("eret-escape").remedy == "bt"
        await pilot.press("alt+r", "alt+r", "alt+r")
        assert idle_session.guest("eret-escape").remedy == "none"
        await pilot.press("alt+e")
        assert not idle_session.vmm.flawed_eret


@pytest.mark.asyncio
async def test_the_command_palette_opens_on_f10_and_sets_a_remedy(idle_session):
    app = TuivmmApp(idle_session, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Pause or resume", "Step", "Reset", "Stop", "Add guest", "ERET flaw: on", "Remedy: hw"):
            assert title in titles
        await pilot.press("alt+4", "f10")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Remedy: hw")
        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0, "the palette's matches", 10)
        await pilot.press("enter")
        await wait_for(pilot, lambda: idle_session.guest("eret-escape").remedy == "hw", "remedy hw", 10)


@pytest.mark.asyncio
async def test_f1_explains_the_panes_and_the_lecture_table_and_escape_closes_it(idle_session):
    app = TuivmmApp(idle_session, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        from tuivmm.ui.help import HELP

        for words in ("virtual disk", "virtual Ethernet", 'virtual "physical" memory', "keyboard + display"):
            assert words in HELP
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen) and app.focused is app.query_one(ConsolePane)


# --- adding guests, and failures shown, not fatal -----------------------------------------------


@pytest.mark.asyncio
async def test_the_add_guest_dialog_adds_hello_and_reports_a_bad_path_while_the_others_run():
    session = Session(lineup_from_names(["basic"]))
    session.guest("basic").send_input(b"10 GOTO 10\nRUN\n")  # busy: at its prompt basic would sleep, idle
    app = TuivmmApp(session)
    notes = recording_notify(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_add_guest_dialog(pilot)
            await type_keys(pilot, *"hello", "enter")
            await wait_for(pilot, lambda: session.guest("hello") is not None, "hello to be added", 10)
            hello = session.guest("hello")
            assert not isinstance(app.screen, AddGuestDialog) and app.selected == "hello"
            await wait_for(pilot, lambda: hello.state is GuestState.HALTED, "hello to power off")
            assert session.terminals["hello"].text() == "Hello from hello, a tuivmm guest!"

            basic = session.guest("basic")
            before = basic.vcpu.cycles
            await open_add_guest_dialog(pilot)
            await type_keys(pilot, *"no/such/guest.elf", "enter")
            error = ("no/such/guest.elf: no such file or packaged guest (`tuivmm guests` lists them)", "error")
            await wait_for(pilot, lambda: error in notes, "the error to be shown", 10)
            assert [g.name for g in session.guests] == ["basic", "hello"]
            await wait_for(pilot, lambda: basic.vcpu.cycles > before, "basic to go on running")
            assert basic.state in (GuestState.RUNNING, GuestState.IDLE)

            await open_add_guest_dialog(pilot)
            await type_keys(pilot, *"unix", "escape")  # cancelled: nothing added
            await wait_for(pilot, lambda: not isinstance(app.screen, AddGuestDialog), "the dialog to close", 10)
            assert [g.name for g in session.guests] == ["basic", "hello"]
    finally:
        session.close()


@pytest.mark.asyncio
async def test_f9_takes_a_line_named_as_on_the_command_line_and_shows_a_bad_lines_error(tmp_path):
    (tmp_path / "tiny.S").write_text("_start:\n    li t0, 0x100000\n    li t1, 0x5555\n    sw t1, 0(t0)\n")
    session = Session(lineup_from_names(["basic"]))
    app = TuivmmApp(session)
    notes = recording_notify(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await type_keys(pilot, "f9")
            await answer_prompt(pilot, f"{tmp_path / 'tiny.S'} --ram 16 --name t1")
            await wait_for(pilot, lambda: session.guest("t1") is not None, "the guest to be added", 10)
            t1 = session.guest("t1")
            assert t1.window.size == 16 << 20 and app.selected == "t1"
            await wait_for(pilot, lambda: t1.state is GuestState.HALTED, "it to power off")
            for line, error in (("hello --ram lots", "argument --ram: not a number: 'lots'"),
                                ("uinx", "uinx: no such file or packaged guest; did you mean unix? "
                                         "(`tuivmm guests` lists them)")):  # fmt: skip
                await type_keys(pilot, "f9")
                await answer_prompt(pilot, line)
                await wait_for(pilot, lambda error=error: (error, "error") in notes, "the error to be shown", 10)
            assert [g.name for g in session.guests] == ["basic", "t1"]
    finally:
        session.close()


CRASH_ASM = """
    .globl _start
_start:
    li t0, 0x10000000
    la t1, msg
1:  lbu t2, 0(t1)
    beqz t2, 2f
    sb t2, 0(t0)
    addi t1, t1, 1
    j 1b
2:  li t0, 0x10         # a trap vector where nothing is
    csrw mtvec, t0
    .word 0             # illegal: traps to it, and again, and again
msg: .asciz "about to crash\\n"
"""


@pytest.fixture(scope="module")
def crash_elf(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("crash")
    (where / "crash.S").write_text(CRASH_ASM)
    run_tool(cross_tool("as"), "-march=rv32ima_zicsr", "-mabi=ilp32", "crash.S", "-o", "crash.o", cwd=where)
    run_tool(cross_tool("ld"), "-m", "elf32lriscv", "-N", "-Ttext=0x80000000", "--no-warn-rwx-segments",
             "crash.o", "-o", "crash.elf", cwd=where)  # fmt: skip
    return where / "crash.elf"


@pytest.mark.asyncio
async def test_a_crashed_guest_shows_why_in_the_list_and_keeps_its_console(crash_elf):
    session = Session(lineup_from_names([str(crash_elf), "hello"]), realtime=False)
    app = TuivmmApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            crash = session.guest("crash")
            await wait_for(pilot, lambda: crash.state is GuestState.CRASHED, "the guest to crash")
            await wait_for(pilot, lambda: row_text(app, "crash")[2] == "crashed", "the list to say so", 5)
            assert "stuck" in row_text(app, "crash")[-1]
            assert app.selected == "crash" and app.query_one(ConsolePane).guest_name == "crash"
            assert session.terminals["crash"].text() == "about to crash"
            await wait_for(pilot, lambda: session.guest("hello").state is GuestState.HALTED, "hello to finish")
    finally:
        session.close()


# --- the command line ------------------------------------------------------------------------


def tuivmm(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "tuivmm", *args], capture_output=True, text=True, timeout=60,
                          env=env, cwd=ROOT, check=False)  # fmt: skip


def test_dash_with_an_image_that_is_not_there_is_a_one_line_error_and_status_2():
    result = tuivmm("dash", "nonexistent.elf")
    assert result.returncode == 2
    assert result.stderr == "tuivmm: nonexistent.elf: no such file or packaged guest (`tuivmm guests` lists them)\n"


def test_dash_with_a_lineup_file_that_has_an_unknown_key_is_a_one_line_error_and_status_2(tmp_path):
    config = tmp_path / "lineup.toml"
    config.write_text('flaw = true\n\n[[guest]]\nimage = "hello"\n')
    result = tuivmm("dash", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr == f"tuivmm: {config}: unknown key 'flaw' (expected [[guest]] tables and flawed_eret)\n"


def test_dash_with_a_lineup_file_that_is_missing_is_a_one_line_error(tmp_path):
    result = tuivmm("dash", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no such lineup file" in result.stderr
